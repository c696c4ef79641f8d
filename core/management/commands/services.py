from django.core.management.base import BaseCommand, CommandError

from config import embedded


class Command(BaseCommand):
    help = "Start, stop or inspect the embedded PostgreSQL (pgvector) and Redis under .services/."

    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["start", "stop", "status", "reset"])

    def handle(self, *args, action: str, **options) -> None:
        if action == "start":
            try:
                embedded.start()
            except Exception as exc:
                raise CommandError(f"Could not start the embedded services: {exc}") from exc
        elif action == "stop":
            embedded.stop()
        elif action == "reset":
            embedded.reset()
            self.stdout.write(f"Deleted {embedded.SERVICES_DIR}")
            return
        for state in embedded.status():
            mark = "up" if state.running else "down"
            self.stdout.write(f"{state.name:<11} {mark:<5} {state.detail}")
