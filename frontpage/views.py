from collections import defaultdict
from itertools import groupby
from operator import itemgetter

from django.utils import timezone
from django.views.generic import TemplateView

from articles.models import Article
from frontcache import keys as surrogate_keys
from frontpage.models import FrontPage, Plan

HOME_TOP_STORIES = 6
HOME_STORIES_PER_SECTION = 4
HOME_CANDIDATES = 1000


class HomeView(TemplateView):
    """The home page: the live arrangement's stories where public, the newest ones around them."""

    template_name = "articles/home.html"

    def get_plan(self) -> Plan:
        return FrontPage.live_plan()

    def get_context_data(self, **kwargs):
        plan = self.get_plan()
        now = timezone.now()
        public = Article.objects.published()
        candidates = list(public.home_candidates(HOME_CANDIDATES))
        pinned = [pk for pk in [plan.lead_id, *plan.top_ids] if pk is not None]
        # Pinned stories may be older than every candidate; only public ones are found.
        pinned_public = (
            set(public.filter(pk__in=pinned).values_list("pk", flat=True)) if pinned else set()
        )
        lead_id, top_ids, section_story_ids = arrange(candidates, plan, pinned_public)
        wanted = [pk for pk in [lead_id, *top_ids] if pk is not None] + section_story_ids
        stories = {
            story.pk: story
            for story in public.filter(pk__in=wanted).for_card().with_bylines()
        }  # fmt: skip
        section_order = {pk: index for index, pk in enumerate(plan.section_ids)}
        in_sections = sorted(
            (stories[pk] for pk in section_story_ids if pk in stories),
            key=lambda story: (
                section_order.get(story.section_id, len(section_order)),
                story.section.order,
                story.section.name,
                -story.published_at.timestamp(),
                -story.pk,
            ),
        )
        sections = [
            (section, list(group))
            for section, group in groupby(in_sections, key=lambda story: story.section)
        ]
        surrogate_keys.add(surrogate_keys.STORIES, surrogate_keys.FRONT_PAGE)
        breaking = plan.breaking(now)
        if breaking is not None and breaking.expires_at is not None:
            surrogate_keys.expires(breaking.expires_at)
        return super().get_context_data(
            lead=stories.get(lead_id),
            top_stories=[stories[pk] for pk in top_ids if pk in stories],
            sections=sections,
            breaking=breaking,
            **kwargs,
        )


def arrange(candidates, plan: Plan, pinned_public: set[int]):
    """Return the ids of the lead story, the top stories in order, and the section stories.

    ``candidates`` are (pk, featured, section_id) rows of the newest public stories, newest
    first. The editors' lead and top stories come first where they are public (in
    ``pinned_public``); every other place is filled as the home page fills itself with no
    arrangement: featured stories, then the newest. Each section then shows its newest
    stories that are not already on the page.
    """
    pinned = {plan.lead_id, *plan.top_ids}
    lead_id = plan.lead_id if plan.lead_id in pinned_public else None
    top_ids = [pk for pk in dict.fromkeys(plan.top_ids) if pk in pinned_public and pk != lead_id]
    top_ids = top_ids[:HOME_TOP_STORIES]
    # Sorting is stable: featured stories first, each group newest first.
    ranked = (pk for pk, _, _ in sorted(candidates, key=itemgetter(1), reverse=True))
    fill = (pk for pk in ranked if pk not in pinned)
    if lead_id is None:
        lead_id = next(fill, None)
    while len(top_ids) < HOME_TOP_STORIES:
        pk = next(fill, None)
        if pk is None:
            break
        top_ids.append(pk)
    on_page = {lead_id, *top_ids}
    newest_in_section = defaultdict(list)
    for pk, _, section_id in candidates:
        in_section = newest_in_section[section_id]
        if pk not in on_page and len(in_section) < HOME_STORIES_PER_SECTION:
            in_section.append(pk)
    newest_in_section.pop(None, None)
    return lead_id, top_ids, [pk for pks in newest_in_section.values() for pk in pks]
