from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.objection_body import ObjectionBody
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
        "method": "post",
        "url": "/v1/subjects/{id}/objection".format(
            id=quote(str(id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | ObjectionBody | None:
    if response.status_code == 200:
        response_200 = ObjectionBody.from_dict(response.json())

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
) -> Response[ErrorBody | ObjectionBody]:
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
) -> Response[ErrorBody | ObjectionBody]:
    """Object to all marketing in one call (GDPR Art. 21(2)): every marketing purpose is
    withdrawn, recorded in the ledger with source `subject`.

    Args:
        id (str):
        jurisdiction (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ObjectionBody]
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
) -> ErrorBody | ObjectionBody | None:
    """Object to all marketing in one call (GDPR Art. 21(2)): every marketing purpose is
    withdrawn, recorded in the ledger with source `subject`.

    Args:
        id (str):
        jurisdiction (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ObjectionBody
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
) -> Response[ErrorBody | ObjectionBody]:
    """Object to all marketing in one call (GDPR Art. 21(2)): every marketing purpose is
    withdrawn, recorded in the ledger with source `subject`.

    Args:
        id (str):
        jurisdiction (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ObjectionBody]
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
) -> ErrorBody | ObjectionBody | None:
    """Object to all marketing in one call (GDPR Art. 21(2)): every marketing purpose is
    withdrawn, recorded in the ledger with source `subject`.

    Args:
        id (str):
        jurisdiction (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ObjectionBody
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            jurisdiction=jurisdiction,
        )
    ).parsed
