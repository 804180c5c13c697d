from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.feedback_body import FeedbackBody
from ...models.feedback_input import FeedbackInput
from ...types import Response


def _get_kwargs(
    id: str,
    *,
    body: FeedbackInput,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/subjects/{id}/feedback".format(
            id=quote(str(id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | FeedbackBody | None:
    if response.status_code == 200:
        response_200 = FeedbackBody.from_dict(response.json())

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
) -> Response[ErrorBody | FeedbackBody]:
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
    body: FeedbackInput,
) -> Response[ErrorBody | FeedbackBody]:
    """Record a person's feedback on their recommendations.

    Args:
        id (str):
        body (FeedbackInput): One piece of feedback, by `action`:

            - `not_interested` with `item` or `category`: left out of every list from now on;
            - `interested_again` with `item` or `category`: undoes `not_interested`;
            - `remove_from_history` with `item`: the person's events with the item are deleted, their
              profile rebuilt, and the shared models forget them at the next rebuild;
            - `pause_personalization` / `resume_personalization`: lists are non-personalized while
              paused; consent is untouched;
            - `self_exclude`: items of the policy's restricted categories for self-excluded people are
              never shown again. Lifting a self-exclusion is deliberately not offered here.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | FeedbackBody]
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
    body: FeedbackInput,
) -> ErrorBody | FeedbackBody | None:
    """Record a person's feedback on their recommendations.

    Args:
        id (str):
        body (FeedbackInput): One piece of feedback, by `action`:

            - `not_interested` with `item` or `category`: left out of every list from now on;
            - `interested_again` with `item` or `category`: undoes `not_interested`;
            - `remove_from_history` with `item`: the person's events with the item are deleted, their
              profile rebuilt, and the shared models forget them at the next rebuild;
            - `pause_personalization` / `resume_personalization`: lists are non-personalized while
              paused; consent is untouched;
            - `self_exclude`: items of the policy's restricted categories for self-excluded people are
              never shown again. Lifting a self-exclusion is deliberately not offered here.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | FeedbackBody
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
    body: FeedbackInput,
) -> Response[ErrorBody | FeedbackBody]:
    """Record a person's feedback on their recommendations.

    Args:
        id (str):
        body (FeedbackInput): One piece of feedback, by `action`:

            - `not_interested` with `item` or `category`: left out of every list from now on;
            - `interested_again` with `item` or `category`: undoes `not_interested`;
            - `remove_from_history` with `item`: the person's events with the item are deleted, their
              profile rebuilt, and the shared models forget them at the next rebuild;
            - `pause_personalization` / `resume_personalization`: lists are non-personalized while
              paused; consent is untouched;
            - `self_exclude`: items of the policy's restricted categories for self-excluded people are
              never shown again. Lifting a self-exclusion is deliberately not offered here.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | FeedbackBody]
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
    body: FeedbackInput,
) -> ErrorBody | FeedbackBody | None:
    """Record a person's feedback on their recommendations.

    Args:
        id (str):
        body (FeedbackInput): One piece of feedback, by `action`:

            - `not_interested` with `item` or `category`: left out of every list from now on;
            - `interested_again` with `item` or `category`: undoes `not_interested`;
            - `remove_from_history` with `item`: the person's events with the item are deleted, their
              profile rebuilt, and the shared models forget them at the next rebuild;
            - `pause_personalization` / `resume_personalization`: lists are non-personalized while
              paused; consent is untouched;
            - `self_exclude`: items of the policy's restricted categories for self-excluded people are
              never shown again. Lifting a self-exclusion is deliberately not offered here.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | FeedbackBody
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            body=body,
        )
    ).parsed
