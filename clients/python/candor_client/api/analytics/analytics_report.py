from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.analytics_body import AnalyticsBody
from ...models.error_body import ErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    family: str,
    *,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    by: str | Unset = UNSET,
    country: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["from"] = from_

    params["to"] = to

    params["by"] = by

    params["country"] = country

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/analytics/{family}".format(
            family=quote(str(family), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AnalyticsBody | ErrorBody | None:
    if response.status_code == 200:
        response_200 = AnalyticsBody.from_dict(response.json())

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

    if response.status_code == 409:
        response_409 = ErrorBody.from_dict(response.json())

        return response_409

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
) -> Response[AnalyticsBody | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    family: str,
    *,
    client: AuthenticatedClient,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    by: str | Unset = UNSET,
    country: str | Unset = UNSET,
) -> Response[AnalyticsBody | ErrorBody]:
    """A private report of one family (`conversions`, `top-items`, `top-categories`,
    `interest-share`, `consent-rates`, `drops`) by day or week. Charges the family's privacy
    budget for every day it covers, unless the same request was answered before; 409
    `privacy_budget_exhausted` when a covered day cannot afford it (ask for other days, or
    repeat an earlier request).

    Args:
        family (str):
        from_ (str | Unset):
        to (str | Unset):
        by (str | Unset):
        country (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AnalyticsBody | ErrorBody]
    """

    kwargs = _get_kwargs(
        family=family,
        from_=from_,
        to=to,
        by=by,
        country=country,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    family: str,
    *,
    client: AuthenticatedClient,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    by: str | Unset = UNSET,
    country: str | Unset = UNSET,
) -> AnalyticsBody | ErrorBody | None:
    """A private report of one family (`conversions`, `top-items`, `top-categories`,
    `interest-share`, `consent-rates`, `drops`) by day or week. Charges the family's privacy
    budget for every day it covers, unless the same request was answered before; 409
    `privacy_budget_exhausted` when a covered day cannot afford it (ask for other days, or
    repeat an earlier request).

    Args:
        family (str):
        from_ (str | Unset):
        to (str | Unset):
        by (str | Unset):
        country (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AnalyticsBody | ErrorBody
    """

    return sync_detailed(
        family=family,
        client=client,
        from_=from_,
        to=to,
        by=by,
        country=country,
    ).parsed


async def asyncio_detailed(
    family: str,
    *,
    client: AuthenticatedClient,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    by: str | Unset = UNSET,
    country: str | Unset = UNSET,
) -> Response[AnalyticsBody | ErrorBody]:
    """A private report of one family (`conversions`, `top-items`, `top-categories`,
    `interest-share`, `consent-rates`, `drops`) by day or week. Charges the family's privacy
    budget for every day it covers, unless the same request was answered before; 409
    `privacy_budget_exhausted` when a covered day cannot afford it (ask for other days, or
    repeat an earlier request).

    Args:
        family (str):
        from_ (str | Unset):
        to (str | Unset):
        by (str | Unset):
        country (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AnalyticsBody | ErrorBody]
    """

    kwargs = _get_kwargs(
        family=family,
        from_=from_,
        to=to,
        by=by,
        country=country,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    family: str,
    *,
    client: AuthenticatedClient,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    by: str | Unset = UNSET,
    country: str | Unset = UNSET,
) -> AnalyticsBody | ErrorBody | None:
    """A private report of one family (`conversions`, `top-items`, `top-categories`,
    `interest-share`, `consent-rates`, `drops`) by day or week. Charges the family's privacy
    budget for every day it covers, unless the same request was answered before; 409
    `privacy_budget_exhausted` when a covered day cannot afford it (ask for other days, or
    repeat an earlier request).

    Args:
        family (str):
        from_ (str | Unset):
        to (str | Unset):
        by (str | Unset):
        country (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AnalyticsBody | ErrorBody
    """

    return (
        await asyncio_detailed(
            family=family,
            client=client,
            from_=from_,
            to=to,
            by=by,
            country=country,
        )
    ).parsed
