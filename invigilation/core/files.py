import contextlib
import os

from django.core.files.storage import Storage
from django.db import transaction
from django.db.models.fields.files import FieldFile


def delete_file_on_commit(field_file: FieldFile) -> None:
    """Remove a stored file once the deletion of its row is committed (never before)."""
    if field_file:
        storage, name = field_file.storage, field_file.name
        transaction.on_commit(lambda: storage.delete(name))


def remove_empty_folder_on_commit(storage: Storage, name: str) -> None:
    """Remove a folder after the commit if nothing is left in it (its name may identify a
    person). A storage without local folders has nothing to remove."""

    def remove() -> None:
        with contextlib.suppress(NotImplementedError, OSError):  # not local, or not empty
            os.rmdir(storage.path(name))

    transaction.on_commit(remove)
