"""Make a team and its first admin from the shell; prints a set-password link for a new account."""

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.services import team_bootstrap


class Command(BaseCommand):
    help = "Create a team (or reuse it) and make USERNAME its admin, creating the account if needed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="team name, e.g. 'Research'")
        parser.add_argument("--admin", required=True, metavar="USERNAME", help="the team's first admin")
        parser.add_argument("--email", default="", help="e-mail of a new admin account")
        parser.add_argument(
            "--site-url",
            default=getattr(settings, "SITE_URL", "") or "http://127.0.0.1:8000",
            help="where Assay is served, to print the set-password link in full",
        )

    def handle(self, *args, name: str, admin: str, email: str, site_url: str, **options) -> None:
        team, user, path = team_bootstrap(name=name, admin_username=admin, email=email)
        self.stdout.write(f"Team {team.name} (slug {team.slug}): {user.get_username()} is an admin.")
        if path:
            self.stdout.write(f"New account: choose its password at {site_url.rstrip('/')}{path} (works once).")
