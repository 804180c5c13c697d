from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.consent_stats_body import ConsentStatsBody
from ...models.error_body import ErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    since: str | Unset = UNSET,
    bucket: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["since"] = since

    params["bucket"] = bucket

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/stats/consent",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ConsentStatsBody | ErrorBody | None:
    if response.status_code == 200:
        response_200 = ConsentStatsBody.from_dict(response.json())

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
) -> Response[ConsentStatsBody | ErrorBody]:
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
    bucket: str | Unset = UNSET,
) -> Response[ConsentStatsBody | ErrorBody]:
    """Grants, denials and withdrawals per purpose and day or week, from the consent ledger, and
    the share of people who allow each purpose now; k-suppressed.

    Args:
        since (str | Unset):
        bucket (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ConsentStatsBody | ErrorBody]
    """

    kwargs = _get_kwargs(
        since=since,
        bucket=bucket,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    bucket: str | Unset = UNSET,
) -> ConsentStatsBody | ErrorBody | None:
    """Grants, denials and withdrawals per purpose and day or week, from the consent ledger, and
    the share of people who allow each purpose now; k-suppressed.

    Args:
        since (str | Unset):
        bucket (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ConsentStatsBody | ErrorBody
    """

    return sync_detailed(
        client=client,
        since=since,
        bucket=bucket,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    bucket: str | Unset = UNSET,
) -> Response[ConsentStatsBody | ErrorBody]:
    """Grants, denials and withdrawals per purpose and day or week, from the consent ledger, and
    the share of people who allow each purpose now; k-suppressed.

    Args:
        since (str | Unset):
        bucket (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ConsentStatsBody | ErrorBody]
    """

    kwargs = _get_kwargs(
        since=since,
        bucket=bucket,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    since: str | Unset = UNSET,
    bucket: str | Unset = UNSET,
) -> ConsentStatsBody | ErrorBody | None:
    """Grants, denials and withdrawals per purpose and day or week, from the consent ledger, and
    the share of people who allow each purpose now; k-suppressed.

    Args:
        since (str | Unset):
        bucket (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ConsentStatsBody | ErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            since=since,
            bucket=bucket,
        )
    ).parsed
