from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.signals_input import SignalsInput
from ...models.signals_response import SignalsResponse
from ...types import Response


def _get_kwargs(
    id: str,
    *,
    body: SignalsInput,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/subjects/{id}/consent-signals".format(
            id=quote(str(id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | SignalsResponse | None:
    if response.status_code == 200:
        response_200 = SignalsResponse.from_dict(response.json())

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
) -> Response[ErrorBody | SignalsResponse]:
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
    body: SignalsInput,
) -> Response[ErrorBody | SignalsResponse]:
    """Record consent signals for a subject (`Sec-GPC: 1` honoured). Signals are blanket states,
    so their grants never lift a Global Privacy Control opt-out; a signal already recorded is
    not recorded again.

    Args:
        id (str):
        body (SignalsInput): Consent signals as a page or a consent-management platform holds
            them. Send any of them,
            at least one (a `Sec-GPC: 1` header counts as one).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SignalsResponse]
    """

    kwargs = _get_kwargs(
        id=id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient,
    body: SignalsInput,
) -> ErrorBody | SignalsResponse | None:
    """Record consent signals for a subject (`Sec-GPC: 1` honoured). Signals are blanket states,
    so their grants never lift a Global Privacy Control opt-out; a signal already recorded is
    not recorded again.

    Args:
        id (str):
        body (SignalsInput): Consent signals as a page or a consent-management platform holds
            them. Send any of them,
            at least one (a `Sec-GPC: 1` header counts as one).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SignalsResponse
    """

    return sync_detailed(
        id=id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    body: SignalsInput,
) -> Response[ErrorBody | SignalsResponse]:
    """Record consent signals for a subject (`Sec-GPC: 1` honoured). Signals are blanket states,
    so their grants never lift a Global Privacy Control opt-out; a signal already recorded is
    not recorded again.

    Args:
        id (str):
        body (SignalsInput): Consent signals as a page or a consent-management platform holds
            them. Send any of them,
            at least one (a `Sec-GPC: 1` header counts as one).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | SignalsResponse]
    """

    kwargs = _get_kwargs(
        id=id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
    body: SignalsInput,
) -> ErrorBody | SignalsResponse | None:
    """Record consent signals for a subject (`Sec-GPC: 1` honoured). Signals are blanket states,
    so their grants never lift a Global Privacy Control opt-out; a signal already recorded is
    not recorded again.

    Args:
        id (str):
        body (SignalsInput): Consent signals as a page or a consent-management platform holds
            them. Send any of them,
            at least one (a `Sec-GPC: 1` header counts as one).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | SignalsResponse
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            body=body,
        )
    ).parsed
