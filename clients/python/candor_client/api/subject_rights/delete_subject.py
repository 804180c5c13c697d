from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.signed_receipt import SignedReceipt
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: str,
    *,
    jurisdiction: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["jurisdiction"] = jurisdiction

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/v1/subjects/{id}".format(
            id=quote(str(id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | SignedReceipt | None:
    if response.status_code == 200:
        response_200 = SignedReceipt.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 408:
        response_408 = ErrorBody.from_dict(response.json())

        return response_408

    if response.status_code == 429:
        response_429 = ErrorBody.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | SignedReceipt]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    jurisdiction: str | Unset = UNSET,
) -> Response[ErrorBody | SignedReceipt]:
    """Erase everything held about a person and return a signed receipt. Consent records become a
    consent-proof tombstone under a one-way hash when `[subject_rights] keep_consent_proof` is
    on. Erasing again once nothing is held returns the original receipt (200); a subject
    Candor never held anything about is 404.

    Args:
        id (str):
        jurisdiction (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SignedReceipt]
    """

    kwargs = _get_kwargs(
        id=id,
        jurisdiction=jurisdiction,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient,
    jurisdiction: str | Unset = UNSET,
) -> ErrorBody | SignedReceipt | None:
    """Erase everything held about a person and return a signed receipt. Consent records become a
    consent-proof tombstone under a one-way hash when `[subject_rights] keep_consent_proof` is
    on. Erasing again once nothing is held returns the original receipt (200); a subject
    Candor never held anything about is 404.

    Args:
        id (str):
        jurisdiction (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SignedReceipt
    """

    return sync_detailed(
        id=id,
        client=client,
        jurisdiction=jurisdiction,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    jurisdiction: str | Unset = UNSET,
) -> Response[ErrorBody | SignedReceipt]:
    """Erase everything held about a person and return a signed receipt. Consent records become a
    consent-proof tombstone under a one-way hash when `[subject_rights] keep_consent_proof` is
    on. Erasing again once nothing is held returns the original receipt (200); a subject
    Candor never held anything about is 404.

    Args:
        id (str):
        jurisdiction (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SignedReceipt]
    """

    kwargs = _get_kwargs(
        id=id,
        jurisdiction=jurisdiction,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
    jurisdiction: str | Unset = UNSET,
) -> ErrorBody | SignedReceipt | None:
    """Erase everything held about a person and return a signed receipt. Consent records become a
    consent-proof tombstone under a one-way hash when `[subject_rights] keep_consent_proof` is
    on. Erasing again once nothing is held returns the original receipt (200); a subject
    Candor never held anything about is 404.

    Args:
        id (str):
        jurisdiction (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SignedReceipt
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            jurisdiction=jurisdiction,
        )
    ).parsed
