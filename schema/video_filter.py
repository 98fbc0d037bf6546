"""What a video job list is asked for: the kinds and states of video jobs, the orders, and the filter
with the list endpoint's query it makes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry

from gateway.loaders.base import OLDEST_CREATE_SINCE
from gateway.loaders.video import IDS_PER_LIST_CALL, VIDEO_2D, VIDEO_PHOTO
from schema.connections import narrows
from schema.errors import BadUserInput
from schema.fields import enum_type, member
from schema.times import upstream_time


@enum_type("Which kind of digital-human video a job makes.")
class VideoJobKind(enum.Enum):
    DIGITAL_HUMAN_2D = strawberry.enum_value(
        VIDEO_2D, description="A 2D digital-human video from a model asset (2D_DIGITAL_HUMAN_VIDEO)."
    )
    PHOTO_DIGITAL_HUMAN = strawberry.enum_value(
        VIDEO_PHOTO, description="A video of a person in a photo (PHOTO_DIGITAL_HUMAN_VIDEO)."
    )
    UNKNOWN = member("A kind this gateway does not know yet; jobType has it.")


@enum_type("Where a video job is in its life; UNKNOWN for a state this API does not know yet.")
class VideoJobState(enum.Enum):
    WAITING = member("Queued; the upstream has not started it.")
    PROCESSING = member("Being made.")
    SUCCEED = member("Made; the output asset is ready (the upstream also says SUCCESS).")
    FAILED = member("Making failed; error says why.")
    CANCELED = member("Canceled before it was made.")
    BLOCK = member("Blocked by content review.")
    UNKNOWN = member("A state this gateway does not know yet; rawState has it.")


@strawberry.enum(description="What a video job list is ordered by.")
class VideoJobSort(enum.Enum):
    CREATE_TIME = strawberry.enum_value(
        "create_time",
        description="By creation time; pages anchor on it, so jobs created meanwhile never shift them.",
    )
    UPDATE_TIME = strawberry.enum_value(
        "update_time",
        description="By last update time; pages go by offset (the upstream cannot filter on it).",
    )
    ASSET_ORDER = strawberry.enum_value(
        "asset_order", description="By output asset; pages go by offset (the upstream cannot filter on it)."
    )


@strawberry.enum(description="Ascending or descending order.")
class SortDirection(enum.Enum):
    ASC = strawberry.enum_value("asc", description="Oldest (or lowest) first; the upstream default.")
    DESC = strawberry.enum_value("desc", description="Newest (or highest) first.")


@strawberry.input(description="Which video jobs a list returns, and in what order.")
class VideoJobFilter:
    job_ids: list[str] | None = narrows(f"Only these jobs (at most {IDS_PER_LIST_CALL} ids).")
    states: list[VideoJobState] | None = narrows("Only jobs in these states.")
    kind: VideoJobKind | None = narrows("Only jobs of this kind.")
    created_since: datetime | None = narrows(
        "Only jobs created at or after this time. Default: the upstream's window of the last "
        "month, or no lower bound when jobIds is given."
    )
    created_until: datetime | None = narrows("Only jobs created at or before this time.")
    script_id: str | None = narrows("Only jobs made from this script.")
    asset_name: str | None = narrows("Only jobs whose output video asset has this name.")
    sort_by: VideoJobSort | None = narrows("Order by; default CREATE_TIME.")
    sort_direction: SortDirection | None = narrows("Default ASC.")

    def upstream_query(self) -> dict[str, Any]:
        """The list endpoint's query parameters; BAD_USER_INPUT names a filter it cannot take."""
        query: dict[str, Any] = {}
        if self.job_ids is not None:
            job_ids = list(dict.fromkeys(self.job_ids))
            if len(job_ids) > IDS_PER_LIST_CALL:
                raise BadUserInput(f"filter.jobIds takes at most {IDS_PER_LIST_CALL} ids, got {len(job_ids)}")
            query["job_ids"] = job_ids
            query["create_since"] = OLDEST_CREATE_SINCE
        if self.states is not None:
            if VideoJobState.UNKNOWN in self.states:
                raise BadUserInput("filter.states cannot contain UNKNOWN: name the states to list")
            query["state"] = [state.value for state in self.states] or None
        if self.kind is not None:
            if self.kind is VideoJobKind.UNKNOWN:
                raise BadUserInput(
                    "filter.kind cannot be UNKNOWN: use DIGITAL_HUMAN_2D or PHOTO_DIGITAL_HUMAN"
                )
            query["job_type"] = self.kind.value
        if self.created_since and self.created_until and self.created_since > self.created_until:
            raise BadUserInput("filter.createdSince must not be later than filter.createdUntil")
        if self.created_since is not None:
            query["create_since"] = upstream_time(self.created_since)
        if self.created_until is not None:
            query["create_until"] = upstream_time(self.created_until)
        if self.script_id is not None:
            query["script_id"] = self.script_id
        if self.asset_name is not None:
            query["asset_name"] = self.asset_name
        if self.sort_by is not None:
            query["sort_key"] = self.sort_by.value
        if self.sort_direction is not None:
            query["sort_dir"] = self.sort_direction.value
        return query
