"""The rubrics page: everyone in the team sees them, reviewers define new ones."""

import pytest

from judging.models import Rubric

pytestmark = pytest.mark.django_db


def _rows(*rows):
    data = {}
    for i, (key, name, description, weight) in enumerate(rows):
        data.update({f"key_{i}": key, f"name_{i}": name, f"description_{i}": description, f"weight_{i}": weight})
    return data


def test_reviewer_defines_a_rubric_on_the_page(client, team, reviewer):
    client.force_login(reviewer)
    page = client.get("/review/rubrics/")
    assert page.status_code == 200 and b"Define a rubric" in page.content and b"Relevance" in page.content
    data = {
        "name": "Support",
        **_rows(("correct", "Correct", "Is it right?", "0.6"), ("kind", "Kind", "Polite?", "0.4")),
    }
    response = client.post("/review/rubrics/", data)
    assert response.status_code == 302
    rubric = Rubric.objects.get(team=team, name="Support")
    assert [(c.key, str(c.weight)) for c in rubric.criteria.order_by("position")] == [
        ("correct", "0.6000"),
        ("kind", "0.4000"),
    ]
    assert b"Support" in client.get("/review/rubrics/").content


def test_weights_that_do_not_sum_to_one_are_refused_with_the_form_kept(client, team, reviewer):
    client.force_login(reviewer)
    data = {"name": "Bad", **_rows(("a", "A", "?", "0.5"), ("b", "B", "?", "0.2"))}
    response = client.post("/review/rubrics/", data)
    assert response.status_code == 400
    assert b"must sum to exactly 1" in response.content
    assert b'value="0.2"' in response.content  # what the user typed is still there
    assert not Rubric.objects.filter(name="Bad").exists()


def test_member_sees_rubrics_but_cannot_define_one(client, team, member):
    client.force_login(member)
    page = client.get("/review/rubrics/")
    assert page.status_code == 200 and b"Define a rubric" not in page.content
    response = client.post("/review/rubrics/", {"name": "X", **_rows(("a", "A", "?", "1"))})
    assert response.status_code == 403
    assert not Rubric.objects.filter(name="X").exists()


def test_another_teams_rubric_is_not_listed(client, team, team_factory, user_factory, reviewer):
    other = team_factory("Team B")
    admin_b = user_factory(team=other, role="admin", username="bob")
    from django.test import Client

    bob = Client()
    bob.force_login(admin_b)
    bob.post("/review/rubrics/", {"name": "Secret", **_rows(("a", "A", "?", "1"))})
    assert Rubric.objects.filter(team=other, name="Secret").exists()
    client.force_login(reviewer)
    assert b"Secret" not in client.get("/review/rubrics/").content
