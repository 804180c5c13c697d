from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.experiment_report_response_200 import ExperimentReportResponse200
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: str,
    *,
    format_: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["format"] = format_

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/experiments/{id}/report".format(
            id=quote(str(id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | ExperimentReportResponse200 | None:
    if response.status_code == 200:
        response_200 = ExperimentReportResponse200.from_dict(response.json())

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
) -> Response[ErrorBody | ExperimentReportResponse200]:
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
    format_: str | Unset = UNSET,
) -> Response[ErrorBody | ExperimentReportResponse200]:
    """An experiment's results now: per metric and arm the people measured and their mean, each
    variant's effect against the control with its fixed-horizon and always-valid intervals and
    adjusted p-values, the sample-ratio check and the guardrails' verdicts. Aggregates only:
    an arm with fewer than k people shows "fewer than k" and no mean or comparison.

    Args:
        id (str):
        format_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ExperimentReportResponse200]
    """

    kwargs = _get_kwargs(
        id=id,
        format_=format_,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient,
    format_: str | Unset = UNSET,
) -> ErrorBody | ExperimentReportResponse200 | None:
    """An experiment's results now: per metric and arm the people measured and their mean, each
    variant's effect against the control with its fixed-horizon and always-valid intervals and
    adjusted p-values, the sample-ratio check and the guardrails' verdicts. Aggregates only:
    an arm with fewer than k people shows "fewer than k" and no mean or comparison.

    Args:
        id (str):
        format_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ExperimentReportResponse200
    """

    return sync_detailed(
        id=id,
        client=client,
        format_=format_,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    format_: str | Unset = UNSET,
) -> Response[ErrorBody | ExperimentReportResponse200]:
    """An experiment's results now: per metric and arm the people measured and their mean, each
    variant's effect against the control with its fixed-horizon and always-valid intervals and
    adjusted p-values, the sample-ratio check and the guardrails' verdicts. Aggregates only:
    an arm with fewer than k people shows "fewer than k" and no mean or comparison.

    Args:
        id (str):
        format_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | ExperimentReportResponse200]
    """

    kwargs = _get_kwargs(
        id=id,
        format_=format_,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
    format_: str | Unset = UNSET,
) -> ErrorBody | ExperimentReportResponse200 | None:
    """An experiment's results now: per metric and arm the people measured and their mean, each
    variant's effect against the control with its fixed-horizon and always-valid intervals and
    adjusted p-values, the sample-ratio check and the guardrails' verdicts. Aggregates only:
    an arm with fewer than k people shows "fewer than k" and no mean or comparison.

    Args:
        id (str):
        format_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | ExperimentReportResponse200
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            format_=format_,
        )
    ).parsed
