from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.unsubscribe_form import UnsubscribeForm
from ...models.unsubscribed_body import UnsubscribedBody
from ...types import Response


def _get_kwargs(
    token: str,
    *,
    body: UnsubscribeForm,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/unsubscribe/{token}".format(
            token=quote(str(token), safe=""),
        ),
    }

    _kwargs["data"] = body.to_dict()
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | UnsubscribedBody | None:
    if response.status_code == 200:
        response_200 = UnsubscribedBody.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

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

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | UnsubscribedBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    token: str,
    *,
    client: AuthenticatedClient | Client,
    body: UnsubscribeForm,
) -> Response[ErrorBody | UnsubscribedBody]:
    """Unsubscribe from the channel the token names. Idempotent.

    Args:
        token (str):
        body (UnsubscribeForm): What a mail client's one-click unsubscribe posts (RFC 8058):
            nothing, or exactly
            `List-Unsubscribe=One-Click`. Documentation only: the handler compares the bytes.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | UnsubscribedBody]
    """

    kwargs = _get_kwargs(
        token=token,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    token: str,
    *,
    client: AuthenticatedClient | Client,
    body: UnsubscribeForm,
) -> ErrorBody | UnsubscribedBody | None:
    """Unsubscribe from the channel the token names. Idempotent.

    Args:
        token (str):
        body (UnsubscribeForm): What a mail client's one-click unsubscribe posts (RFC 8058):
            nothing, or exactly
            `List-Unsubscribe=One-Click`. Documentation only: the handler compares the bytes.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | UnsubscribedBody
    """

    return sync_detailed(
        token=token,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    token: str,
    *,
    client: AuthenticatedClient | Client,
    body: UnsubscribeForm,
) -> Response[ErrorBody | UnsubscribedBody]:
    """Unsubscribe from the channel the token names. Idempotent.

    Args:
        token (str):
        body (UnsubscribeForm): What a mail client's one-click unsubscribe posts (RFC 8058):
            nothing, or exactly
            `List-Unsubscribe=One-Click`. Documentation only: the handler compares the bytes.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | UnsubscribedBody]
    """

    kwargs = _get_kwargs(
        token=token,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    token: str,
    *,
    client: AuthenticatedClient | Client,
    body: UnsubscribeForm,
) -> ErrorBody | UnsubscribedBody | None:
    """Unsubscribe from the channel the token names. Idempotent.

    Args:
        token (str):
        body (UnsubscribeForm): What a mail client's one-click unsubscribe posts (RFC 8058):
            nothing, or exactly
            `List-Unsubscribe=One-Click`. Documentation only: the handler compares the bytes.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | UnsubscribedBody
    """

    return (
        await asyncio_detailed(
            token=token,
            client=client,
            body=body,
        )
    ).parsed
