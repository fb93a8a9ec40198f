"""Drive the admin as staff do: sign in through the real login page, pick from its boxes."""

from tests.factories import PASSWORD


def sign_in_with_password(page, base_url, username):
    """Submit the admin login form; whatever step comes next is the caller's."""
    page.goto(base_url + "/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def log_in(page, base_url, username):
    """Sign in a user who needs no second factor and wait for the admin home page."""
    sign_in_with_password(page, base_url, username)
    page.wait_for_url(base_url + "/admin/")


def choose_autocomplete(page, field, label):
    """Pick ``label`` in one of the admin's select2 autocomplete boxes."""
    page.locator(f"#id_{field} + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(label)
    page.locator(".select2-results__option", has_text=label).first.click()
