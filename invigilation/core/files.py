from django.db import transaction
from django.db.models.fields.files import FieldFile


def delete_file_on_commit(field_file: FieldFile) -> None:
    """Remove a stored file once the deletion of its row is committed (never before)."""
    if field_file:
        storage, name = field_file.storage, field_file.name
        transaction.on_commit(lambda: storage.delete(name))
