from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.interest_removed_body import InterestRemovedBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: str,
    category: str,
    *,
    jurisdiction: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["jurisdiction"] = jurisdiction

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/v1/subjects/{id}/interests/{category}".format(
            id=quote(str(id), safe=""),
            category=quote(str(category), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | InterestRemovedBody | None:
    if response.status_code == 200:
        response_200 = InterestRemovedBody.from_dict(response.json())

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
) -> Response[ErrorBody | InterestRemovedBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    category: str,
    *,
    client: AuthenticatedClient,
    jurisdiction: str | Unset = UNSET,
) -> Response[ErrorBody | InterestRemovedBody]:
    """Remove an inferred interest and keep it out of the profile from now on.

    Args:
        id (str):
        category (str):
        jurisdiction (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | InterestRemovedBody]
    """

    kwargs = _get_kwargs(
        id=id,
        category=category,
        jurisdiction=jurisdiction,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    category: str,
    *,
    client: AuthenticatedClient,
    jurisdiction: str | Unset = UNSET,
) -> ErrorBody | InterestRemovedBody | None:
    """Remove an inferred interest and keep it out of the profile from now on.

    Args:
        id (str):
        category (str):
        jurisdiction (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | InterestRemovedBody
    """

    return sync_detailed(
        id=id,
        category=category,
        client=client,
        jurisdiction=jurisdiction,
    ).parsed


async def asyncio_detailed(
    id: str,
    category: str,
    *,
    client: AuthenticatedClient,
    jurisdiction: str | Unset = UNSET,
) -> Response[ErrorBody | InterestRemovedBody]:
    """Remove an inferred interest and keep it out of the profile from now on.

    Args:
        id (str):
        category (str):
        jurisdiction (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | InterestRemovedBody]
    """

    kwargs = _get_kwargs(
        id=id,
        category=category,
        jurisdiction=jurisdiction,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    category: str,
    *,
    client: AuthenticatedClient,
    jurisdiction: str | Unset = UNSET,
) -> ErrorBody | InterestRemovedBody | None:
    """Remove an inferred interest and keep it out of the profile from now on.

    Args:
        id (str):
        category (str):
        jurisdiction (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | InterestRemovedBody
    """

    return (
        await asyncio_detailed(
            id=id,
            category=category,
            client=client,
            jurisdiction=jurisdiction,
        )
    ).parsed
