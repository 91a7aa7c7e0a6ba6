"""The exam invigilation product. Importing this package loads nothing: the Django-free
packages beneath it (`vision`, `decisions`, `scenarios`) stay importable without Django or
Celery; Django processes load the Celery app when the `core` app is ready."""
