"""Picture modeling writes: a job from an uploaded photo (multipart) or from a photo's URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING
from typing import Annotated, Any

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from gateway.live.callback_tokens import gateway_callback
from gateway.pictures import (
    picture_file_from_upload,
    sha256_of_upload,
    sniff_upload,
    truncation_of_upload,
    within_limits,
)
from schema.input_rules import OneOf, Present, Required, Url, check_fields, ruled, unruled
from schema.mutations import IDEMPOTENCY_KEY, create_job, job_as_now, problems_for, refusals
from schema.picture import PictureModelingJob, picture_modeling_job_by_id
from schema.reading import text
from schema.resolvers import GatewayInfo, described
from schema.user_errors import (
    Problems,
    UserError,
    UserErrorCode,
)

# CreatePictureModelingJob: the styles the upload accepts, and the largest picture (either way round).
PICTURE_STYLES = OneOf(("system_male_001", "system_female_001", "system_male_002", "system_female_002"))
MAX_LONG_SIDE, MAX_SHORT_SIDE = 3840, 2160
INPUT = ["input"]
FILE_FIELD = [*INPUT, "file"]
# Fields both creates take, each with its rules.
MODEL_NAME = ("Name of the model. {required}", Required())
NOTIFY_URL = ("An http(s) URL, at most {most} characters, called when the job ends.", Url())


@strawberry.input(
    description="A stylized model from an uploaded photo (CreatePictureModelingJob), sent as a GraphQL "
    "multipart request."
)
class CreatePictureModelingJobInput:
    file: Upload = strawberry.field(
        description="The photo: a jpg, jpeg or png (recognised by its content, not its name) of at most "
        "3840x2160 pixels (either way round) and at most the gateway's upload size limit."
    )
    style_id: str = ruled("The style: {options}.", Present(), PICTURE_STYLES, default=MISSING)
    name: str = ruled(*MODEL_NAME, default=MISSING)
    notify_url: str | None = ruled(*NOTIFY_URL)
    idempotency_key: str | None = unruled(IDEMPOTENCY_KEY)

    def check(self, found: Problems) -> None:
        """The rules of every field but the file, which check_picture reads."""
        check_fields(found, INPUT, self, nested=False)


@strawberry.input(
    description="A stylized model from a photo MetaStudio fetches (CreatePictureModelingByUrlJob)."
)
class CreatePictureModelingJobFromUrlInput:
    picture_url: str = ruled(
        "The photo's http(s) URL, at most {most} characters.", Present(), Url(), default=MISSING
    )
    style_id: str = ruled("The style, e.g. system_female_001.", Present(), default=MISSING)
    name: str = ruled(*MODEL_NAME, default=MISSING)
    notify_url: str | None = ruled(*NOTIFY_URL)
    idempotency_key: str | None = unruled(IDEMPOTENCY_KEY)

    def check(self, found: Problems) -> None:
        check_fields(found, INPUT, self)

    def body(self) -> dict[str, Any]:
        body = {
            "picture_url": self.picture_url,
            "style_id": self.style_id,
            "name": self.name,
            "notify_url": self.notify_url,
        }
        return {key: value for key, value in body.items() if value is not None}


@strawberry.type(description="The created picture modeling job as MetaStudio now sees it.")
class CreatePictureModelingJobPayload:
    job: PictureModelingJob | None = job_as_now("The new job", "create")
    model_asset_id: str | None = strawberry.field(description="Id of the model asset the job builds.")
    user_errors: list[UserError] = refusals("create")


def _refused(errors: list[UserError]) -> CreatePictureModelingJobPayload:
    return CreatePictureModelingJobPayload(job=None, model_asset_id=None, user_errors=errors)


async def _created(info: GatewayInfo, answer: Mapping[str, Any]) -> CreatePictureModelingJobPayload:
    job_id = text(answer, "job_id")
    job = None
    if job_id is not None:
        info.context.loaders.picture.job.clear(job_id)
        job = await picture_modeling_job_by_id(info, job_id)
    return CreatePictureModelingJobPayload(
        job=job, model_asset_id=text(answer, "model_asset_id"), user_errors=[]
    )


def _notify_url(info: GatewayInfo, given: str | None) -> tuple[str | None, str | None]:
    """(notify_url to send, nonce of the gateway's own callback): the client's URL when it gave one.

    Only what is sent changes; the idempotency fingerprint stays the client's input.
    """
    if given is not None:
        return given, None
    callback = gateway_callback(info.context.settings, "picture")
    return (None, None) if callback is None else callback


async def check_picture(upload: object, found: Problems) -> None:
    """The upload must be a file whose bytes (not its name) make a PNG or JPEG within the resolution."""
    if not isinstance(upload, UploadFile):
        found.add(
            FILE_FIELD, "file must be sent as a file part of a multipart request", UserErrorCode.REQUIRED
        )
        return
    picture = await sniff_upload(upload)
    if picture is None:
        found.add(
            FILE_FIELD,
            "file must be a jpg, jpeg or png picture (recognised by its content, not its name)",
            UserErrorCode.UNSUPPORTED_FILE,
        )
    elif (truncated := await truncation_of_upload(upload, picture)) is not None:
        found.add(
            FILE_FIELD,
            f"file is not a whole {picture.kind.upper()} picture: {truncated}",
            UserErrorCode.UNSUPPORTED_FILE,
        )
    elif not within_limits(picture, MAX_LONG_SIDE, MAX_SHORT_SIDE):
        found.add(
            FILE_FIELD,
            f"file is {picture.width}x{picture.height} pixels; the largest resolution allowed is "
            f"{MAX_LONG_SIDE}x{MAX_SHORT_SIDE} (or {MAX_SHORT_SIDE}x{MAX_LONG_SIDE})",
            UserErrorCode.FILE_TOO_LARGE,
        )


@strawberry.type
class PictureModelingMutations:
    @described(
        "Create a picture modeling job from an uploaded photo (GraphQL multipart request; send the "
        "Apollo-Require-Preflight header). The photo is checked first and streamed to MetaStudio as it is. "
        "Costs one create and one show call."
    )
    async def create_picture_modeling_job(
        self,
        info: GatewayInfo,
        input: Annotated[
            CreatePictureModelingJobInput,
            strawberry.argument(description="The photo (an upload), the style and the model name."),
        ],
    ) -> CreatePictureModelingJobPayload:
        problems = problems_for(info)
        input.check(problems)
        upload: object = input.file
        await check_picture(upload, problems)
        if problems or not isinstance(upload, UploadFile):
            return _refused(problems.errors)
        limit = info.context.settings.upload_max_bytes
        # The spooled file streams upstream: its name and type follow its bytes, its size is known.
        picture = await picture_file_from_upload(upload)
        size = picture.size or 0
        if size > limit:
            message = f"file is {size} bytes; the largest upload allowed is {limit} bytes"
            return _refused([UserError(code=UserErrorCode.FILE_TOO_LARGE, message=message, field=FILE_FIELD)])
        fingerprint = {
            "style_id": input.style_id,
            "name": input.name,
            "notify_url": input.notify_url,
            "filename": picture.filename,
            "size": size,
            "sha256": await sha256_of_upload(upload),
        }
        upstream = info.context.upstream
        notify_url, nonce = _notify_url(info, input.notify_url)

        answer, refusals = await create_job(
            info,
            kind="picture",
            operation="createPictureModelingJob",
            idempotency_key=input.idempotency_key,
            fingerprint=fingerprint,
            send=lambda: upstream.call(
                upstream.client.create_picture_modeling_job,
                file=picture,
                style_id=input.style_id,
                name=input.name,
                notify_url=notify_url,
            ),
            nonce=nonce,
            field=INPUT,
        )
        if answer is None:
            return _refused(refusals)
        return await _created(info, answer)

    @described(
        "Create a picture modeling job from a photo MetaStudio fetches from a URL. Costs one create and "
        "one show call."
    )
    async def create_picture_modeling_job_from_url(
        self,
        info: GatewayInfo,
        input: Annotated[
            CreatePictureModelingJobFromUrlInput,
            strawberry.argument(description="Where the photo is, the style and the model name."),
        ],
    ) -> CreatePictureModelingJobPayload:
        problems = problems_for(info)
        input.check(problems)
        if problems:
            return _refused(problems.errors)
        body = input.body()
        notify_url, nonce = _notify_url(info, input.notify_url)
        sent = body if notify_url is None else {**body, "notify_url": notify_url}
        upstream = info.context.upstream

        answer, refusals = await create_job(
            info,
            kind="picture",
            operation="createPictureModelingJobFromUrl",
            idempotency_key=input.idempotency_key,
            fingerprint=body,
            send=lambda: upstream.call(upstream.client.create_picture_modeling_job_by_url, sent),
            nonce=nonce,
            field=INPUT,
        )
        if answer is None:
            return _refused(refusals)
        return await _created(info, answer)
