from django.core.management.base import BaseCommand

from accounts.models import Membership
from accounts.services import membership_grant, team_create, user_ensure

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password"


class Command(BaseCommand):
    help = "Create the demo team and login (demo / demo-password)."

    def handle(self, *args, **options) -> None:
        team = team_create(name="Demo team", slug="demo")
        user = user_ensure(username=DEMO_USER, password=DEMO_PASSWORD)
        membership_grant(team=team, user=user, role=Membership.Role.ADMIN)
        self.stdout.write(f"Demo login: {DEMO_USER} / {DEMO_PASSWORD} (team {team.name})")
