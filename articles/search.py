from django.http import HttpResponse


def search_view(request):
    return HttpResponse("")
