from django.db import models


class WorkerHeartbeat(models.Model):
    """Written by a worker on request; proves the web → broker → worker → database loop."""

    token = models.CharField(max_length=64, unique=True)
    worker = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
