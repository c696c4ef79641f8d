"""Team management by page and API, as a role matrix (admin / reviewer / member / other team /
anonymous), the one-time set-password link, and the rule that a team keeps an admin."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Membership

pytestmark = pytest.mark.django_db

ROLES = ["admin", "reviewer", "member", "other_team", "anonymous"]


def page_client(client, user):
    if user is not None:
        client.force_login(user)
    return client


def api_client(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


# --- Pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "sees_members", "can_manage"),
    [
        ("admin", True, True),
        ("reviewer", True, False),
        ("member", True, False),
        ("other_team", False, True),  # sees only Team B: its own team, where it is admin
        ("anonymous", False, False),
    ],
)
def test_team_page_by_role(client, people, role, sees_members, can_manage):
    response = page_client(client, people[role]).get(reverse("accounts:team"))
    if role == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        return
    html = response.content.decode()
    assert response.status_code == 200
    assert ("rita" in html and "alice" in html) is sees_members
    assert ('id="member-add"' in html) is can_manage


@pytest.mark.parametrize("role", ["reviewer", "member", "other_team"])
def test_only_the_teams_admin_can_add_change_or_remove_members(client, people, team, role):
    c = page_client(client, people[role])
    response = c.post(reverse("accounts:team"), {"username": "newbie", "role": "member"})
    if role == "other_team":  # adds to Team B, its own team: never to Team A
        assert not Membership.objects.filter(team=team, user__username="newbie").exists()
    else:
        assert response.status_code == 403
        assert not get_user_model().objects.filter(username="newbie").exists()
    alice = people["member"]
    response = c.post(reverse("accounts:member_role", args=[alice.pk]), {"role": "admin"})
    assert response.status_code in (403, 404)
    response = c.post(reverse("accounts:member_remove", args=[alice.pk]))
    assert response.status_code in (403, 404)
    assert Membership.objects.get(team=team, user=alice).role == "member"


def test_admin_creates_an_account_with_a_one_time_set_password_link(client, people, team, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_CONFIGURED = True
    c = page_client(client, people["admin"])
    response = c.post(reverse("accounts:team"), {"username": "carol", "email": "carol@example.org", "role": "reviewer"})
    assert response.status_code == 201
    html = response.content.decode()
    link = re.search(r'id="set-password-url" value="([^"]+)"', html).group(1)
    assert "mailed to carol@example.org" in html
    assert len(mail.outbox) == 1 and link in mail.outbox[0].body
    carol = get_user_model().objects.get(username="carol")
    assert not carol.has_usable_password()
    assert Membership.objects.get(team=team, user=carol).role == "reviewer"

    # Carol follows the link (anonymous), chooses a password, then logs in with it.
    client.logout()
    page = client.get(link, follow=True)
    assert "Choose your password" in page.content.decode()
    form_url = page.redirect_chain[-1][0]
    done = client.post(form_url, {"new_password1": "a-long-Pass-42", "new_password2": "a-long-Pass-42"})
    assert done.status_code == 302 and done["Location"] == reverse("accounts:login")
    assert client.login(username="carol", password="a-long-Pass-42")
    client.logout()
    # The link worked once.
    again = client.get(link, follow=True)
    assert "This link no longer works" in again.content.decode()


def test_without_mail_configured_the_link_is_only_shown(client, people, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_CONFIGURED = False
    response = page_client(client, people["admin"]).post(
        reverse("accounts:team"), {"username": "dan", "email": "dan@example.org", "role": "member"}
    )
    assert response.status_code == 201 and 'id="set-password-url"' in response.content.decode()
    assert "mailed to" not in response.content.decode() and not mail.outbox


def test_adding_an_existing_user_needs_no_link_and_a_duplicate_is_refused(client, people, team, user_factory):
    user_factory(username="dora")
    c = page_client(client, people["admin"])
    response = c.post(reverse("accounts:team"), {"username": "dora", "role": "member"})
    assert response.status_code == 302
    assert Membership.objects.filter(team=team, user__username="dora").exists()
    again = c.post(reverse("accounts:team"), {"username": "dora", "role": "member"})
    assert again.status_code == 400 and "already in Team A" in again.content.decode()


def test_admin_changes_roles_and_removes_members_but_keeps_an_admin(client, people, team):
    admin, alice = people["admin"], people["member"]
    c = page_client(client, admin)
    c.post(reverse("accounts:member_role", args=[alice.pk]), {"role": "reviewer"})
    assert Membership.objects.get(team=team, user=alice).role == "reviewer"
    response = c.post(reverse("accounts:member_role", args=[admin.pk]), {"role": "member"}, follow=True)
    assert "at least one admin" in response.content.decode()
    assert Membership.objects.get(team=team, user=admin).role == "admin"
    c.post(reverse("accounts:member_remove", args=[alice.pk]))
    assert not Membership.objects.filter(team=team, user=alice).exists()
    assert get_user_model().objects.filter(pk=alice.pk).exists()  # the account stays


def test_new_link_only_for_accounts_without_a_password(client, people, team):
    c = page_client(client, people["admin"])
    c.post(reverse("accounts:team"), {"username": "erin", "role": "member"})
    erin = get_user_model().objects.get(username="erin")
    response = c.post(reverse("accounts:member_link", args=[erin.pk]))
    assert response.status_code == 200 and 'id="set-password-url"' in response.content.decode()
    refused = c.post(reverse("accounts:member_link", args=[people["member"].pk]), follow=True)
    assert "already chosen a password" in refused.content.decode()


# --- API --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "list_status", "add_status"),
    [
        ("admin", 200, 201),
        ("reviewer", 200, 403),
        ("member", 200, 403),
        ("other_team", 404, 404),
        ("anonymous", 401, 401),
    ],
)
def test_members_api_role_matrix(people, team, role, list_status, add_status):
    client = api_client(people[role])
    url = f"/api/v1/teams/{team.pk}/members/"
    response = client.get(url)
    assert response.status_code == list_status
    if list_status == 200:
        assert {m["username"] for m in response.json()} == {"ada", "rita", "alice"}
    response = client.post(url, {"username": "fred", "role": "reviewer"}, format="json")
    assert response.status_code == add_status
    if add_status == 201:
        body = response.json()
        assert body["created_account"] is True and "/accounts/set-password/" in body["set_password_url"]
    else:
        assert not get_user_model().objects.filter(username="fred").exists()


@pytest.mark.parametrize(
    ("role", "expected"),
    [("admin", 200), ("reviewer", 403), ("member", 403), ("other_team", 404), ("anonymous", 401)],
)
def test_member_role_api_role_matrix(people, team, role, expected):
    alice = people["member"]
    response = api_client(people[role]).patch(
        f"/api/v1/teams/{team.pk}/members/{alice.pk}/", {"role": "reviewer"}, format="json"
    )
    assert response.status_code == expected
    assert Membership.objects.get(team=team, user=alice).role == ("reviewer" if expected == 200 else "member")


@pytest.mark.parametrize(
    ("role", "expected"),
    [("admin", 204), ("reviewer", 403), ("member", 403), ("other_team", 404), ("anonymous", 401)],
)
def test_member_remove_api_role_matrix(people, team, role, expected):
    alice = people["member"]
    response = api_client(people[role]).delete(f"/api/v1/teams/{team.pk}/members/{alice.pk}/")
    assert response.status_code == expected
    assert Membership.objects.filter(team=team, user=alice).exists() is (expected != 204)


def test_teams_api_lists_only_your_teams_and_refuses_removing_the_last_admin(people, team):
    client = api_client(people["admin"])
    assert [t["name"] for t in client.get("/api/v1/teams/").json()["results"]] == ["Team A"]
    response = client.delete(f"/api/v1/teams/{team.pk}/members/{people['admin'].pk}/")
    assert response.status_code == 409 and "at least one admin" in response.json()["detail"]
    bad = client.patch(f"/api/v1/teams/{team.pk}/members/{people['member'].pk}/", {"role": "owner"}, format="json")
    assert bad.status_code == 400


def test_team_create_command_makes_the_first_team_and_admin(capsys):
    from django.core.management import call_command

    call_command("team_create", "Research", "--admin", "root-admin")
    out = capsys.readouterr().out
    assert "Research" in out and "/accounts/set-password/" in out
    assert Membership.objects.get(team__name="Research", user__username="root-admin").role == "admin"
