from django.db import models


class WorkerHeartbeat(models.Model):
    """Written by a worker on request; proves the web → broker → worker → database loop."""

    token = models.CharField(max_length=64, unique=True)
    worker = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)


class PendingTask(models.Model):
    """A task that could not be handed to the broker (an outage outlasted the publish
    retries). The sweep (sessions.sweep) publishes it again and deletes the row; tasks are
    idempotent, so a row published twice is harmless."""

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
