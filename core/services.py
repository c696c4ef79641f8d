from core.models import WorkerHeartbeat


def heartbeat_record(*, token: str, worker: str) -> WorkerHeartbeat:
    # get_or_create: a re-delivered task must not fail on the unique token.
    beat, _ = WorkerHeartbeat.objects.get_or_create(token=token, defaults={"worker": worker})
    return beat
