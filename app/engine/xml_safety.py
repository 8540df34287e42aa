"""Read untrusted XML bytes safely: size, encoding, DTD/entity, depth and element-count limits.

Everything here runs before SpiffWorkflow sees the document, so hostile input (XXE, billion laughs,
quadratic blow-up, deep nesting, huge files) is refused quickly with a stable code.
"""

import re
from dataclasses import dataclass

from lxml import etree

from app.errors import InvalidDiagram, PayloadTooLarge

_REFERENCE_ATTRIBUTES = {"bpmnElement", "calledElement", "default", "sourceElement", "targetElement"}
_QUOTES = re.compile("['\"]")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 5 * 1024 * 1024
    max_elements: int = 20_000
    max_depth: int = 64


def _xml_parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network: XXE and billion-laughs inputs go nowhere.
    # huge_tree=False keeps libxml2's own depth (256) and text-node limits switched on.
    # The bytes were checked to be UTF-8, so read them as UTF-8 whatever the declaration says (several
    # tools declare ISO-8859-1 over pure ASCII); what is parsed is then exactly the text that is stored.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True, encoding="utf-8")


def read_xml(name: str, content: bytes, limits: Limits) -> etree._ElementTree:
    """Parse `content` or raise InvalidDiagram / PayloadTooLarge with a Vietnamese explanation."""
    if len(content) > limits.max_bytes:
        raise PayloadTooLarge(f"'{name}' vượt quá {limits.max_bytes} byte")
    if not content.strip():
        raise InvalidDiagram(f"'{name}' là tệp rỗng", code="empty_file")
    _require_utf8(name, content)
    # XML keywords are case-sensitive and the text is UTF-8, so a byte search finds every declaration.
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise InvalidDiagram(f"'{name}': khai báo DOCTYPE/ENTITY không được phép trong tệp BPMN",
                             code="dtd_forbidden")
    try:
        root = etree.fromstring(content, _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(name, exc, limits) from exc
    except ValueError as exc:  # e.g. an encoding declaration lxml cannot honour
        raise InvalidDiagram(f"'{name}' không phải XML hợp lệ: {exc}", code="invalid_xml") from exc
    tree = etree.ElementTree(root)
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise InvalidDiagram(f"'{name}': khai báo DOCTYPE/ENTITY không được phép trong tệp BPMN",
                             code="dtd_forbidden")
    _check_size(name, root, limits)
    _check_identifiers(name, root)
    return tree


def _require_utf8(name: str, content: bytes) -> None:
    """BPMN modellers write UTF-8; anything else (UTF-16, Latin-1, binary) is refused, not guessed."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")) or content[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        raise InvalidDiagram(f"'{name}' được mã hoá UTF-16/UTF-32; hãy lưu tệp với mã hoá UTF-8",
                             code="invalid_encoding")
    if b"\x00" in content:
        raise InvalidDiagram(f"'{name}' chứa byte NUL (có thể là UTF-16 không BOM hoặc tệp nhị phân); "
                             "hãy lưu tệp với mã hoá UTF-8", code="invalid_encoding")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        raise InvalidDiagram(f"'{name}' không phải văn bản UTF-8 hợp lệ (byte lỗi ở vị trí {exc.start}, "
                             f"dòng {line}); hãy lưu tệp với mã hoá UTF-8", code="invalid_encoding") from exc


def _syntax_error(name: str, exc: etree.XMLSyntaxError, limits: Limits) -> InvalidDiagram:
    message = exc.msg or str(exc)
    if "Excessive depth" in message or "Maximum nesting depth" in message:
        return InvalidDiagram(f"'{name}' lồng sâu quá {limits.max_depth} cấp", code="too_deep")
    if "Document is empty" in message:
        return InvalidDiagram(f"'{name}' không có nội dung XML", code="empty_file")
    line, column = exc.position if exc.position else (exc.lineno, 0)
    return InvalidDiagram(f"'{name}' không phải XML hợp lệ (dòng {line}, cột {column}): {message}",
                          code="invalid_xml")


def _check_size(name: str, root: etree._Element, limits: Limits) -> None:
    count = 0
    stack = [(root, 1)]
    while stack:
        node, level = stack.pop()
        count += 1
        if count > limits.max_elements:
            raise InvalidDiagram(f"'{name}' có quá {limits.max_elements} phần tử XML", code="too_many_elements")
        if level > limits.max_depth:
            raise InvalidDiagram(f"'{name}' lồng sâu quá {limits.max_depth} cấp", code="too_deep")
        stack.extend((child, level + 1) for child in node)


def _check_identifiers(name: str, root: etree._Element) -> None:
    """Ids and references must not contain quotes.

    SpiffWorkflow splices some of them into XPath expressions (`[@id="%s"]` for messageRef, data
    association refs); a quote would let the diagram run its own XPath over the document, which can
    take minutes on a large one.
    """
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        values = [(key, value) for key, value in node.attrib.items()
                  if key == "id" or key.endswith("Ref") or key in _REFERENCE_ATTRIBUTES]
        if node.text and etree.QName(node).localname.endswith(("Ref", "Refs")):
            values.append((etree.QName(node).localname, node.text))
        for key, value in values:
            if "'" in value or '"' in value:
                owner = node
                while owner is not None and (not owner.get("id") or _QUOTES.search(owner.get("id"))):
                    owner = owner.getparent()
                raise InvalidDiagram(f"'{name}': mã hoặc tham chiếu {value[:60]!r} ({etree.QName(key).localname}) "
                                     "chứa dấu nháy; mã phần tử chỉ được gồm chữ, số và các ký tự _ - .",
                                     code="invalid_id", element_id=owner.get("id") if owner is not None else None)
