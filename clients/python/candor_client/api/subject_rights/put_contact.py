from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.contact_body import ContactBody
from ...models.error_body import ErrorBody
from ...models.put_contact_body import PutContactBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: str,
    *,
    body: PutContactBody,
    jurisdiction: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    params["jurisdiction"] = jurisdiction

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/v1/subjects/{id}/contact".format(
            id=quote(str(id), safe=""),
        ),
        "params": params,
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ContactBody | ErrorBody | None:
    if response.status_code == 200:
        response_200 = ContactBody.from_dict(response.json())

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

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = ErrorBody.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

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
) -> Response[ContactBody | ErrorBody]:
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
    body: PutContactBody,
    jurisdiction: str | Unset = UNSET,
) -> Response[ContactBody | ErrorBody]:
    """Correct contact data the person gave (`{"email": "new@example.com"}`); only fields Candor
    holds can be corrected, and each is sealed with the subject's data key as on ingestion.

    Args:
        id (str):
        jurisdiction (str | Unset):
        body (PutContactBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ContactBody | ErrorBody]
    """

    kwargs = _get_kwargs(
        id=id,
        body=body,
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
    body: PutContactBody,
    jurisdiction: str | Unset = UNSET,
) -> ContactBody | ErrorBody | None:
    """Correct contact data the person gave (`{"email": "new@example.com"}`); only fields Candor
    holds can be corrected, and each is sealed with the subject's data key as on ingestion.

    Args:
        id (str):
        jurisdiction (str | Unset):
        body (PutContactBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ContactBody | ErrorBody
    """

    return sync_detailed(
        id=id,
        client=client,
        body=body,
        jurisdiction=jurisdiction,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    body: PutContactBody,
    jurisdiction: str | Unset = UNSET,
) -> Response[ContactBody | ErrorBody]:
    """Correct contact data the person gave (`{"email": "new@example.com"}`); only fields Candor
    holds can be corrected, and each is sealed with the subject's data key as on ingestion.

    Args:
        id (str):
        jurisdiction (str | Unset):
        body (PutContactBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ContactBody | ErrorBody]
    """

    kwargs = _get_kwargs(
        id=id,
        body=body,
        jurisdiction=jurisdiction,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
    body: PutContactBody,
    jurisdiction: str | Unset = UNSET,
) -> ContactBody | ErrorBody | None:
    """Correct contact data the person gave (`{"email": "new@example.com"}`); only fields Candor
    holds can be corrected, and each is sealed with the subject's data key as on ingestion.

    Args:
        id (str):
        jurisdiction (str | Unset):
        body (PutContactBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ContactBody | ErrorBody
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            body=body,
            jurisdiction=jurisdiction,
        )
    ).parsed
