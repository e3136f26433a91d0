"""REST routes of the original design (token now; agent start/turn/complete come with issue D)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from onboarding.livekit_admin import InvalidRequest, issue_token
from onboarding.settings import Settings, get_settings

router = APIRouter(prefix="/api/livekit", tags=["livekit"])
SettingsDep = Annotated[Settings, Depends(get_settings)]


class TokenRequest(BaseModel):
    roomName: str | None = Field(None, max_length=64)
    participantName: str | None = Field(None, max_length=64)
    userId: str | None = Field(None, max_length=128)


class TokenResponse(BaseModel):
    token: str
    wsUrl: str
    roomName: str


@router.post("/token", response_model=TokenResponse)
def create_token(body: TokenRequest, settings: SettingsDep) -> TokenResponse:
    """A short-lived token for one room; joining it dispatches the onboarding agent."""
    try:
        issued = issue_token(settings, room_name=body.roomName, participant_name=body.participantName,
                             user_id=body.userId)
    except InvalidRequest as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return TokenResponse(token=issued.token, wsUrl=issued.ws_url, roomName=issued.room_name)
