from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.flags_body import FlagsBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    since: str | Unset = UNSET,
    k_min: int | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["since"] = since

    params["k_min"] = k_min

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/fairness/flags",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorBody | FlagsBody | None:
    if response.status_code == 200:
        response_200 = FlagsBody.from_dict(response.json())

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
) -> Response[ErrorBody | FlagsBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    k_min: int | Unset = UNSET,
) -> Response[ErrorBody | FlagsBody]:
    """Every fairness flag: stored campaign flags (newest first, at most 500), then each slot
    shown in the period whose people-side report is flagged now.

    Args:
        since (str | Unset):
        k_min (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | FlagsBody]
    """

    kwargs = _get_kwargs(
        since=since,
        k_min=k_min,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    k_min: int | Unset = UNSET,
) -> ErrorBody | FlagsBody | None:
    """Every fairness flag: stored campaign flags (newest first, at most 500), then each slot
    shown in the period whose people-side report is flagged now.

    Args:
        since (str | Unset):
        k_min (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | FlagsBody
    """

    return sync_detailed(
        client=client,
        since=since,
        k_min=k_min,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    k_min: int | Unset = UNSET,
) -> Response[ErrorBody | FlagsBody]:
    """Every fairness flag: stored campaign flags (newest first, at most 500), then each slot
    shown in the period whose people-side report is flagged now.

    Args:
        since (str | Unset):
        k_min (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | FlagsBody]
    """

    kwargs = _get_kwargs(
        since=since,
        k_min=k_min,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    k_min: int | Unset = UNSET,
) -> ErrorBody | FlagsBody | None:
    """Every fairness flag: stored campaign flags (newest first, at most 500), then each slot
    shown in the period whose people-side report is flagged now.

    Args:
        since (str | Unset):
        k_min (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | FlagsBody
    """

    return (
        await asyncio_detailed(
            client=client,
            since=since,
            k_min=k_min,
        )
    ).parsed
