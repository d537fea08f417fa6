"""The consignment a declaration covers: what a re-lodgement keeps in common with the first.

A trader who tests the routing lodges the same goods again, as a new version
of the declaration or as a new declaration, and changes what the criteria
read. What does not change is the consignment: the transport document (bill
of lading, air waybill) or, without one, the containers. Draws keyed on it
cannot be re-rolled by re-lodging.
"""

from __future__ import annotations

from scoring.domain.declaration import Declaration


def consignment_key(declaration: Declaration) -> str:
    """The consignment's identity: the transport document, else a container, else the number.

    A declaration with neither transport document nor container is its own
    consignment: its versions share the key, other declarations do not.
    """
    document = declaration.transport_document
    if document is not None and document.number:
        return f"document:{document.type_code}:{document.number.strip().upper()}"
    if declaration.container_numbers:
        return f"container:{min(number.upper() for number in declaration.container_numbers)}"
    return f"declaration:{declaration.declaration_number}"
