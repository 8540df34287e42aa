"""Scanned dossier documents stored content-addressed on disk; file names are kept as data, never as paths."""

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from app.dossiers.views import DocumentView
from app.errors import InvalidInput, NotFound, PayloadTooLarge
from persistence.db import Database
from persistence.dossier_models import Dossier, DossierDocument

# Accepted by content, not by the client's word: the first bytes decide the type.
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    content_type: str


class FileStore:
    def __init__(self, root: str | Path, max_bytes: int) -> None:
        self.root = Path(root).resolve()
        self.max_bytes = max_bytes

    def put(self, content: bytes) -> StoredFile:
        if len(content) > self.max_bytes:
            raise PayloadTooLarge(f"Tệp vượt quá {self.max_bytes} byte")
        if not content:
            raise InvalidInput("Tệp rỗng", field="file", code="empty_file")
        content_type = next((kind for magic, kind in SIGNATURES if content.startswith(magic)), None)
        if content_type is None:
            raise InvalidInput("Chỉ nhận tệp PDF, PNG hoặc JPEG", field="file", code="forbidden_file_type")
        digest = hashlib.sha256(content).hexdigest()
        path = self.path_of(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
                tmp.write(content)
            os.replace(tmp.name, path)  # atomic: a reader never sees half a file
        return StoredFile(digest, len(content), content_type)

    def path_of(self, digest: str) -> Path:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise NotFound("Không có tệp", field="sha256")
        return self.root / digest[:2] / digest


class DocumentFiles:
    """Attach a scan to a document of a dossier, and read it back."""

    def __init__(self, db: Database, store: FileStore) -> None:
        self.db = db
        self.store = store

    def attach(self, code: str, document_code: str, content: bytes, file_name: str | None,
               actor: str | None = None) -> DocumentView:
        stored = self.store.put(content)  # outside the transaction: writing a file is slow and idempotent
        with self.db.transaction() as session:
            dossier = session.get(Dossier, code)
            if dossier is None:
                raise NotFound(f"Không có hồ sơ '{code}'", field="code")
            document = session.scalar(select(DossierDocument).where(DossierDocument.dossier_code == code,
                                                                    DossierDocument.document_code == document_code))
            if document is None:
                raise NotFound(f"Hồ sơ '{code}' không có giấy tờ '{document_code}'", field="documentCode")
            document.digitised = True
            document.file_sha256 = stored.sha256
            document.file_name = (file_name or "tep")[-255:]
            document.content_type = stored.content_type
            document.size_bytes = stored.size
            session.flush()
            return DocumentView.of(document)

    def read(self, code: str, document_code: str) -> tuple[Path, str, str]:
        with self.db.read() as session:
            document = session.scalar(select(DossierDocument).where(DossierDocument.dossier_code == code,
                                                                    DossierDocument.document_code == document_code))
            if document is None or document.file_sha256 is None:
                raise NotFound("Giấy tờ này chưa có bản số hoá", field="documentCode")
            path = self.store.path_of(document.file_sha256)
            if not path.exists():
                raise NotFound("Tệp đã bị xoá khỏi kho", field="documentCode")
            return path, document.content_type or "application/octet-stream", document.file_name or "tep"
