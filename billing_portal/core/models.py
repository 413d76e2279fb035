from django.db import models


class TestClock(models.Model):
    """A frozen instant that orgs attached to it read as "now"; it moves only when advanced."""

    __test__ = False  # not a pytest test class

    name = models.CharField(max_length=100)
    frozen_time = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} @ {self.frozen_time:%Y-%m-%d %H:%M:%S %Z}"
