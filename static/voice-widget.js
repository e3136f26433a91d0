/* Voice onboarding widget: a drop-in for any page, and the dashboard's talk page.
 *
 *   <script src="https://your-dashboard/static/voice-widget.js"></script>
 *   <div data-voice-onboarding data-user-id="user_123"></div>
 *
 * One script tag is enough: the widget loads livekit-client and its stylesheet from the server it came
 * from (never a CDN) and talks to that server's API, so it also works embedded in another site's page
 * (that site's origin must be in the dashboard's EMBED_ALLOWED_ORIGINS).
 * Attributes: data-user-id, data-participant-name, data-token-url (default /api/livekit/token),
 * data-profile-url (/api/livekit/profile), data-interview-url (/api/livekit/interview),
 * data-agent-timeout (seconds, default 20), data-echo-cancellation / data-noise-suppression (default "true"),
 * data-auto-gain (default "false": Chromium's AGC drives speech into clipping, which costs the speech
 * recogniser words — measured with Whisper tiny — and the recogniser normalises the level itself).
 * data-camera / data-screen-share="false" hide the Camera / Share screen buttons (both shown by default; the
 * caller's camera and screen go to the room as LiveKit tracks, for an agent that looks at them).
 * Events (both bubble): `onboarding-complete` (the original design's onComplete) only when the stored profile is
 * completed, detail = {profile, roomName}; `onboarding-ended` for every other end of a started call — abandoned
 * (the caller pressed End, left the page, or the agent ended it), failed (no token, no server, no agent, no mic) or
 * dropped (the connection went before the interview finished) — detail = {status, reason?, roomName} (roomName is
 * null when no room was made).
 * The caller's LiveKit token proves the room is theirs: the widget keeps it on the element's `voiceOnboarding`
 * object (`.token`) for the stored-profile request, never in an event.
 * During a call each field of the checklist can be corrected by typing (Fix): the value goes to the agent over
 * LiveKit RPC ("onboarding.correct", only the caller's own identity is accepted), through the interview's
 * normaliser and validation, and is stored as typed by the caller; the agent says so. The line shows
 * data-correction (sending|saved|refused) and, when refused, why.
 * State for styling and tests: data-state on the root (idle|connecting|busy|connected|completed|ended|error);
 * "busy": every agent is on a call, the notice counts down to the next try (data-busy-retry: seconds when the
 * server's Retry-After cannot be read, default 10) and End stops waiting;
 * data-camera / data-screen-share on the buttons (off|starting|on|stopping); .vo-notice[data-error] for a
 * camera or screen that could not be shared (the call goes on).
 * Plain script, no build step: uses the global `LivekitClient` from livekit-client's UMD bundle.
 */
(function () {
  "use strict";
  if (window.VoiceOnboarding) return; // loaded twice (e.g. two Gradio components): keep the first

  // The server this script came from serves livekit-client, the stylesheet and the API.
  const SCRIPT_SRC = document.currentScript && document.currentScript.src;
  const SERVER = SCRIPT_SRC ? new URL(SCRIPT_SRC).origin : window.location.origin;
  const fromServer = (path) => SERVER + path;

  const TRANSCRIPTION = "lk.transcription";
  const EVENTS = "onboarding.events";
  const ERRORS = {
    "mic-denied": "Microphone access was denied. Allow the microphone for this page in your browser, then start again.",
    "no-mic": "No microphone was found. Connect one, then start again.",
    "server-unreachable": "The server is unreachable: ",
    "server-error": "The server could not start a call: ",
    "agent-timeout": "The agent did not join within {n} seconds. Please try again in a moment.",
    "call-dropped": "The call dropped before the interview finished. Start again to retry.",
  };
  // Camera and screen are extras: failing to share one is said, and the voice call goes on.
  const VIDEO_ERRORS = {
    "camera-denied": "Camera access was denied. Allow the camera for this page in your browser to show it; "
                     + "the call goes on with voice only.",
    "no-camera": "No camera was found. Connect one to show it; the call goes on with voice only.",
    "camera-busy": "The camera is in use by another program. Close that program, then try again.",
    "camera-failed": "The camera could not be shared: ",
    "screen-denied": "Screen sharing was cancelled or not allowed; the call goes on with voice only.",
    "screen-unsupported": "This browser cannot share its screen; the call goes on with voice only.",
    "screen-failed": "The screen could not be shared: ",
  };
  const DENIED = ["NotAllowedError", "PermissionDeniedError", "SecurityError"];

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function meter(label, who) {
    const wrap = el("div", { class: "vo-meter", "data-meter": who, "data-heard": "false" });
    wrap.append(el("span", { class: "vo-meter-label" }, label));
    const bar = el("span", { class: "vo-meter-bar" });
    bar.append(el("span", { class: "vo-meter-fill" }));
    wrap.append(bar);
    return wrap;
  }

  class VoiceOnboardingWidget {
    constructor(root) {
      this.root = root;
      const d = root.dataset;
      this.tokenUrl = d.tokenUrl || fromServer("/api/livekit/token");
      this.profileUrl = d.profileUrl || fromServer("/api/livekit/profile");
      this.interviewUrl = d.interviewUrl || fromServer("/api/livekit/interview");
      this.agentTimeout = Number(d.agentTimeout || 20);
      this.videoAllowed = { camera: d.camera !== "false", screen: d.screenShare !== "false" };
      this.room = null;
      this.render();
      this.setState("idle");
      this.loadChecklist();
      this.onPageHide = () => this.end("page hidden");
      window.addEventListener("pagehide", this.onPageHide);
    }

    // --- rendering -------------------------------------------------------------------------------
    render() {
      const root = this.root;
      root.classList.add("vo-widget");
      root.replaceChildren();
      const controls = el("div", { class: "vo-controls" });
      this.startButton = el("button", { type: "button", class: "vo-start" }, "Start voice conversation");
      this.muteButton = el("button", { type: "button", class: "vo-mute", "data-muted": "false", disabled: "" }, "Mute");
      this.endButton = el("button", { type: "button", class: "vo-end", disabled: "" }, "End");
      this.micSelect = el("select", { class: "vo-mic-select", "aria-label": "Microphone", disabled: "" });
      this.videoButtons = {
        camera: el("button", { type: "button", class: "vo-camera", "data-camera": "off", "aria-pressed": "false",
                               disabled: "" }, "Camera"),
        screen: el("button", { type: "button", class: "vo-screen-share", "data-screen-share": "off",
                               "aria-pressed": "false", disabled: "" }, "Share screen"),
      };
      const canShareScreen = Boolean(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
      this.videoButtons.camera.hidden = !this.videoAllowed.camera;
      this.videoButtons.screen.hidden = !this.videoAllowed.screen || !canShareScreen; // phones cannot share
      controls.append(this.startButton, this.muteButton, this.endButton, this.micSelect,
                      this.videoButtons.camera, this.videoButtons.screen);

      const status = el("div", { class: "vo-status" });
      this.connection = el("span", { class: "vo-connection", "data-connection-state": "disconnected" }, "Not connected");
      this.agentState = el("span", { class: "vo-agent-state", "data-agent-state": "" }, "Agent: not here yet");
      status.append(this.connection, this.agentState);
      this.callerMeter = meter("You", "caller");
      this.agentMeter = meter("Agent", "agent");
      const meters = el("div", { class: "vo-meters" });
      meters.append(this.callerMeter, this.agentMeter);

      this.error = el("div", { class: "vo-error", role: "alert", hidden: "" });
      this.notice = el("div", { class: "vo-notice", role: "status", hidden: "" });
      this.previews = el("div", { class: "vo-previews", hidden: "" });
      const body = el("div", { class: "vo-body" });
      this.transcript = el("ol", { class: "vo-transcript", "aria-live": "polite" });
      this.checklist = el("ul", { class: "vo-checklist" });
      const left = el("section", { class: "vo-transcript-box" });
      left.append(el("h4", {}, "Transcript"), this.transcript);
      const right = el("section", { class: "vo-checklist-box" });
      right.append(el("h4", {}, "Profile"), this.checklist);
      body.append(left, right);
      this.profile = el("dl", { class: "vo-profile", hidden: "" });
      this.audio = el("div", { class: "vo-audio", hidden: "" });
      root.append(controls, status, meters, this.error, this.notice, this.previews, body, this.profile, this.audio);

      this.startButton.addEventListener("click", () => this.start());
      this.endButton.addEventListener("click", () => this.end("caller ended"));
      this.muteButton.addEventListener("click", () => this.toggleMute());
      this.micSelect.addEventListener("change", () => this.switchMic(this.micSelect.value));
      this.videoButtons.camera.addEventListener("click", () => this.toggleVideo("camera"));
      this.videoButtons.screen.addEventListener("click", () => this.toggleVideo("screen"));
    }

    setState(state) {
      this.state = state;
      this.root.dataset.state = state;
      const live = state === "connecting" || state === "connected" || state === "busy";
      this.startButton.disabled = live;
      this.endButton.disabled = !live;
      this.muteButton.disabled = state !== "connected";
      this.micSelect.disabled = state !== "connected";
      this.enableCorrections(state === "connected");
      this.showVideo();
    }

    fail(kind, detail, status) {
      let text = ERRORS[kind].replace("{n}", String(this.agentTimeout));
      if (detail) text += detail;
      this.error.textContent = text;
      this.error.dataset.error = kind;
      this.error.hidden = false;
      this.setState("error");
      this.disconnect();
      this.announceEnd(status || (kind === "call-dropped" ? "dropped" : "failed"), kind);
    }

    /** `onboarding-ended` once per started call that did not end with a completed, stored profile. */
    announceEnd(status, reason) {
      if (this.announced) return;
      this.announced = true;
      const detail = { status, roomName: this.roomName || null };
      if (reason) detail.reason = reason;
      this.root.dataset.endStatus = status;
      this.root.dispatchEvent(new CustomEvent("onboarding-ended", { bubbles: true, composed: true, detail }));
    }

    async loadChecklist() {
      try {
        const response = await fetch(this.interviewUrl);
        if (!response.ok) return;
        this.fields = await response.json();
      } catch (_) {
        return; // the call still works; the checklist fills from the agent's fields
      }
      this.checklist.replaceChildren(...this.fields.map((f) => {
        const item = el("li", { "data-field": f.name, "data-filled": "false", "data-required": String(f.required) });
        item.append(el("span", { class: "vo-field-label" }, f.label), el("span", { class: "vo-field-value" }, ""));
        this.addCorrection(item, f.name, f.label);
        return item;
      }));
    }

    fillChecklist(fields) {
      for (const [name, value] of Object.entries(fields || {})) {
        let item = this.checklist.querySelector(`[data-field="${CSS.escape(name)}"]`);
        if (!item) {
          item = el("li", { "data-field": name, "data-filled": "false" });
          item.append(el("span", { class: "vo-field-label" }, name), el("span", { class: "vo-field-value" }, ""));
          this.checklist.append(item);
        }
        const filled = value !== null && value !== undefined && value !== "";
        item.dataset.filled = String(filled);
        item.querySelector(".vo-field-value").textContent = filled ? String(value) : "";
      }
    }

    // --- typed corrections: the caller fixes a field by typing it (RPC to the agent) ---------------------
    addCorrection(item, name, label) {
      const form = el("form", { class: "vo-correct", "data-field": name });
      // type=text: the browser's own email check would block the submit before the interview's reason is shown
      const input = el("input", { type: "text", inputmode: name === "email" ? "email" : "text", name: "value",
                                  autocomplete: "off", "aria-label": `Type your ${label}`,
                                  placeholder: `Type your ${label}` });
      const button = el("button", { type: "submit", class: "vo-correct-send" }, "Fix");
      const why = el("span", { class: "vo-correct-error", role: "alert", hidden: "" });
      input.disabled = button.disabled = this.state !== "connected";
      form.append(input, button, why);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (input.value.trim()) this.sendCorrection(item, name, input.value.trim());
      });
      item.append(form);
    }

    enableCorrections(on) {
      if (!this.checklist) return;
      this.checklist.querySelectorAll(".vo-correct input, .vo-correct button").forEach((node) => {
        node.disabled = !on;
      });
    }

    async sendCorrection(item, field, value) {
      const agent = this.agent();
      const why = item.querySelector(".vo-correct-error");
      why.hidden = true;
      if (!this.room || !agent) return;
      item.dataset.correction = "sending";
      try {
        const answer = await this.room.localParticipant.performRpc({
          destinationIdentity: agent.identity, method: "onboarding.correct",
          payload: JSON.stringify({ field, value }),
        });
        const stored = JSON.parse(answer);
        item.dataset.correction = "saved";
        item.dataset.source = "typed";
        this.fillChecklist({ [field]: stored.value });
        item.querySelector(".vo-correct input").value = "";
      } catch (err) {
        item.dataset.correction = "refused";
        why.textContent = (err && err.message) || String(err);
        why.hidden = false;
      }
    }

    // --- the call --------------------------------------------------------------------------------
    async start() {
      if (this.state === "connecting" || this.state === "connected") return;
      const LK = window.LivekitClient;
      this.error.hidden = true;
      this.notice.hidden = true;
      this.transcript.replaceChildren();
      this.profile.hidden = true;
      this.checklist.querySelectorAll("li").forEach((item) => {
        item.dataset.filled = "false";
        item.querySelector(".vo-field-value").textContent = "";
      });
      this.endedByUs = false;
      this.completing = false;
      this.announced = false;
      this.token = null;
      this.roomName = null;
      delete this.root.dataset.roomName;
      delete this.root.dataset.endStatus;
      this.setState("connecting");
      this.showConnection("connecting", "Connecting…");

      let track;
      try { // the microphone first: no room is made for a caller who cannot speak
        track = await LK.createLocalAudioTrack(this.captureOptions());
      } catch (err) {
        const denied = ["NotAllowedError", "PermissionDeniedError", "SecurityError"].includes(err && err.name);
        return this.fail(denied ? "mic-denied" : "no-mic");
      }
      this.localTrack = track;

      let issued;
      try {
        const response = await this.fetchTokenWhenFree();
        if (response === null) { track.stop(); return; } // the caller stopped waiting for a free agent
        if (!response.ok) {
          const body = await response.json().catch(() => ({}));
          track.stop();
          return this.fail("server-error", `it answered ${response.status}${body.detail ? ` (${body.detail})` : ""}.`
                                           + " Try again in a moment.");
        }
        issued = await response.json();
      } catch (err) {
        track.stop();
        return this.fail("server-unreachable", `could not get a call token from ${this.tokenUrl} (${err.message}).`);
      }
      this.token = issued.token;
      this.roomName = issued.roomName;
      this.root.dataset.roomName = issued.roomName;
      this.applyTokenSources(issued.token);

      const room = new LK.Room({ adaptiveStream: false, dynacast: false });
      this.room = room;
      this.bindRoom(room, LK);
      try {
        await room.connect(issued.wsUrl, issued.token);
        this.identity = room.localParticipant.identity;
        await room.localParticipant.publishTrack(track, { source: LK.Track.Source.Microphone });
      } catch (err) {
        track.stop();
        return this.fail("server-unreachable", `could not connect to the voice server at ${issued.wsUrl} (${err.message}).`);
      }
      room.startAudio().catch(() => {});
      this.setState("connected");
      this.showConnection("connected", "Connected");
      this.meterFor(this.callerMeter, track);
      this.listMics(LK);
      if (!this.agent()) {
        this.agentTimer = setTimeout(() => { if (!this.agent()) this.fail("agent-timeout"); },
          this.agentTimeout * 1000);
      }
    }

    // --- busy: every agent is on a call (the token route answers 503 with Retry-After) -------------
    /** POST for a token; while every agent is busy, say so, count down and ask again. null: the caller gave up. */
    async fetchTokenWhenFree() {
      for (;;) {
        const response = await fetch(this.tokenUrl, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ participantName: this.root.dataset.participantName || "caller",
                                 userId: this.root.dataset.userId || null }),
        });
        if (response.status !== 503) return response;
        // Retry-After is readable same-origin; an embedding page may not see it, so fall back to the attribute
        const wait = Number(response.headers.get("Retry-After")) || Number(this.root.dataset.busyRetry || 10);
        if (!(await this.waitForFreeAgent(Math.max(1, Math.round(wait))))) return null;
      }
    }

    waitForFreeAgent(seconds) {
      this.setState("busy");
      this.showConnection("waiting", "Waiting for a free agent");
      return new Promise((resolve) => {
        let left = seconds;
        const show = () => {
          this.notice.textContent = `All agents are busy \u2014 trying again in ${left} s. Press End to stop waiting.`;
          this.notice.dataset.busy = String(left);
          this.notice.hidden = false;
        };
        const finish = (tryAgain) => {
          clearInterval(this.busyTimer);
          this.busyTimer = null;
          this.stopWaitingFor = null;
          this.notice.hidden = true;
          delete this.notice.dataset.busy;
          resolve(tryAgain);
        };
        show();
        this.busyTimer = setInterval(() => {
          left -= 1;
          if (left > 0) { show(); return; }
          this.setState("connecting");
          this.showConnection("connecting", "Connecting…");
          finish(true);
        }, 1000);
        this.stopWaitingFor = () => finish(false);
      });
    }

    stopWaiting(why) {
      if (this.stopWaitingFor) this.stopWaitingFor();
      this.setState("idle");
      this.showConnection("disconnected", "Not connected");
      this.root.dataset.endedBecause = why;
      this.announceEnd("abandoned", "stopped waiting for a free agent"); // no room was made: roomName null
    }

    bindRoom(room, LK) {
      const E = LK.RoomEvent;
      room.on(E.ConnectionStateChanged, (s) => this.showConnection(s, s.charAt(0).toUpperCase() + s.slice(1)));
      room.on(E.ParticipantConnected, () => this.onAgentAttributes());
      room.on(E.ParticipantAttributesChanged, (_changed, participant) => {
        if (participant !== room.localParticipant) this.onAgentAttributes();
      });
      room.on(E.TrackSubscribed, (track) => {
        if (track.kind !== "audio") return;
        this.audio.append(track.attach());
        this.meterFor(this.agentMeter, track);
      });
      room.on(E.TrackUnsubscribed, (track) => track.detach().forEach((node) => node.remove()));
      room.on(E.Disconnected, (reason) => this.onDisconnected(reason));
      room.on(E.MediaDevicesChanged, () => this.listMics(LK));
      // camera and screen share: also when the browser's own "Stop sharing" bar ends the screen track
      room.on(E.LocalTrackPublished, () => this.showVideo());
      room.on(E.LocalTrackUnpublished, () => this.showVideo());
      room.registerTextStreamHandler(TRANSCRIPTION, (reader, who) => this.readTranscript(reader, who));
      room.registerTextStreamHandler(EVENTS, (reader) => this.readEvent(reader));
    }

    agent() {
      if (!this.room) return null;
      for (const p of this.room.remoteParticipants.values()) {
        if (p.isAgent || p.kind === window.LivekitClient.ParticipantKind.AGENT) return p;
      }
      return null;
    }

    onAgentAttributes() {
      const agent = this.agent();
      if (!agent) return;
      clearTimeout(this.agentTimer);
      const attrs = agent.attributes || {};
      const state = attrs["lk.agent.state"] || "initializing";
      // a finished agent utterance is a turn the caller may answer (pages and tests wait on the count)
      if (this.agentState.dataset.agentState === "speaking" && state !== "speaking") {
        this.root.dataset.agentTurns = String(Number(this.root.dataset.agentTurns || 0) + 1);
      }
      this.agentState.dataset.agentState = state;
      this.markAsked(attrs["onboarding.asking"] || "", attrs["onboarding.confirming"] || "");
      this.agentState.textContent = `Agent: ${state}`;
      if (attrs["onboarding.fields"]) {
        try { this.fillChecklist(JSON.parse(attrs["onboarding.fields"])); } catch (_) { /* partial update */ }
      }
      const status = attrs["onboarding.status"];
      if (status && status !== "in_progress") this.complete(status);
    }

    /** The server may grant the microphone only (CALLER_VIDEO=false): hide buttons the token cannot publish. */
    applyTokenSources(token) {
      let sources;
      try {
        const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
        sources = (JSON.parse(atob(payload)).video || {}).canPublishSources;
      } catch (_) { return; } // not a JWT we can read: leave the buttons as the page set them
      if (!Array.isArray(sources) || !sources.length) return; // no list: every source is allowed
      if (!sources.includes("camera")) this.videoButtons.camera.hidden = true;
      if (!sources.includes("screen_share")) this.videoButtons.screen.hidden = true;
    }

    /** Which field the agent is asking for (or reading back), on the root and on its checklist line. */
    markAsked(asking, confirming) {
      this.root.dataset.asking = asking;
      this.root.dataset.confirming = confirming;
      this.checklist.querySelectorAll("li").forEach((item) => {
        item.dataset.asking = String(item.dataset.field === (confirming || asking));
      });
    }

    async readTranscript(reader, who) {
      const attrs = reader.info.attributes || {};
      const segment = attrs["lk.segment_id"] || reader.info.id;
      const role = who.identity === this.identity ? "user" : "agent";
      let line = this.transcript.querySelector(`[data-segment="${CSS.escape(segment)}"]`);
      if (!line) {
        line = el("li", { "data-role": role, "data-segment": segment, "data-final": "false" });
        this.transcript.append(line);
      }
      let text = ""; // each stream carries the segment so far: interim updates replace the line
      for await (const chunk of reader) {
        text += chunk;
        line.textContent = text;
        line.scrollIntoView({ block: "nearest" });
      }
      const final = (reader.info.attributes || {})["lk.transcription_final"] === "true";
      if (final) line.dataset.final = "true";
      if (final && !text.trim()) line.remove();
    }

    async readEvent(reader) {
      let event;
      try { event = JSON.parse(await reader.readAll()); } catch (_) { return; }
      this.fillChecklist(event.fields);
      if (event.type === "complete") this.complete(event.status);
    }

    async complete(status) {
      if (this.completing) return;
      this.completing = true; // the agent closes the room next: that disconnect is expected
      this.root.dataset.status = status;
      const profile = await this.fetchProfile();
      if (profile) this.showProfile(profile);
      // only what the server stored counts as complete, not what the agent's event said
      const completed = status === "completed" && profile !== null && profile.status === "completed";
      this.setState(completed ? "completed" : "ended");
      if (completed) {
        this.announced = true;
        this.root.dispatchEvent(new CustomEvent("onboarding-complete", {
          bubbles: true, composed: true, detail: { profile, roomName: this.roomName },
        }));
      } else {
        this.announceEnd(profile && profile.status !== "in_progress" ? profile.status : status,
                         profile ? "agent ended the call" : "the stored profile could not be read");
      }
      this.disconnect();
    }

    async fetchProfile() {
      try {
        const url = `${this.profileUrl}?roomName=${encodeURIComponent(this.roomName)}`;
        const response = await fetch(url, { headers: { Authorization: `Bearer ${this.token}` } });
        return response.ok ? await response.json() : null;
      } catch (_) {
        return null;
      }
    }

    showProfile(profile) {
      const labels = Object.fromEntries((this.fields || []).map((f) => [f.name, f.label]));
      this.profile.replaceChildren(el("dt", { class: "vo-profile-title" }, `Stored profile (${profile.status})`));
      for (const [name, value] of Object.entries(profile.fields)) {
        this.profile.append(el("dt", { "data-field": name }, labels[name] || name),
                            el("dd", { "data-field": name }, String(value)));
      }
      this.profile.hidden = false;
      this.fillChecklist(profile.fields);
    }

    async onDisconnected(reason) {
      this.showConnection("disconnected", "Disconnected");
      if (this.endedByUs || this.completing || this.state !== "connected") return;
      // the room can close before the completion event is read: the stored call says which it was
      const profile = this.roomName ? await this.fetchProfile() : null;
      if (profile && profile.status === "completed") return this.complete(profile.status);
      this.fail("call-dropped", "", profile && profile.status !== "in_progress" ? profile.status : "dropped");
    }

    captureOptions() {
      const flag = (value, fallback) => (value === undefined ? fallback : value !== "false");
      const d = this.root.dataset;
      return { echoCancellation: flag(d.echoCancellation, true), noiseSuppression: flag(d.noiseSuppression, true),
               autoGainControl: flag(d.autoGain, false) };
    }

    // --- controls --------------------------------------------------------------------------------
    async toggleMute() {
      if (!this.localTrack) return;
      if (this.localTrack.isMuted) await this.localTrack.unmute(); else await this.localTrack.mute();
      const muted = this.localTrack.isMuted;
      this.muteButton.dataset.muted = String(muted);
      this.muteButton.textContent = muted ? "Unmute" : "Mute";
    }

    async listMics(LK) {
      let mics = [];
      try { mics = await LK.Room.getLocalDevices("audioinput"); } catch (_) { return; }
      const active = this.room && this.room.getActiveDevice("audioinput");
      this.micSelect.replaceChildren(...mics.map((m, i) => {
        const option = el("option", { value: m.deviceId }, m.label || `Microphone ${i + 1}`);
        if (m.deviceId === active) option.selected = true;
        return option;
      }));
    }

    async switchMic(deviceId) {
      if (this.room) await this.room.switchActiveDevice("audioinput", deviceId);
    }

    meterFor(meterNode, track) {
      let analyser;
      try { analyser = window.LivekitClient.createAudioAnalyser(track, { cloneTrack: true }); } catch (_) { return; }
      const fill = meterNode.querySelector(".vo-meter-fill");
      const timer = setInterval(() => {
        const level = Math.min(1, analyser.calculateVolume() * 4);
        fill.style.width = `${Math.round(level * 100)}%`;
        meterNode.dataset.level = level.toFixed(2);
        if (level > 0.05) meterNode.dataset.heard = "true";
      }, 100);
      (this.meters = this.meters || []).push(() => {
        clearInterval(timer);
        analyser.cleanup();
        fill.style.width = "0%";
        meterNode.dataset.level = "0.00";
      });
    }

    // --- camera and screen share ----------------------------------------------------------------
    videoSource(kind) {
      const S = window.LivekitClient.Track.Source;
      return kind === "camera" ? S.Camera : S.ScreenShare;
    }

    videoPublication(kind) {
      const publication = this.room && this.room.localParticipant.getTrackPublication(this.videoSource(kind));
      return publication && publication.track ? publication : null;
    }

    /** Publish the camera or the screen as a LiveKit track, or unpublish it (its device is released). */
    async toggleVideo(kind) {
      const room = this.room;
      if (!room || this.state !== "connected" || this.videoBusy) return;
      const publication = this.videoPublication(kind);
      this.videoBusy = kind;
      this.notice.hidden = true;
      this.showVideo(publication ? "stopping" : "starting");
      try {
        if (publication) {
          await room.localParticipant.unpublishTrack(publication.track, true);
        } else if (kind === "camera") {
          await room.localParticipant.setCameraEnabled(true);
        } else {
          await room.localParticipant.setScreenShareEnabled(true, { audio: false });
        }
      } catch (err) {
        if (this.room === room) this.videoFailed(kind, err);
      } finally {
        this.videoBusy = null;
        if (this.room !== room) this.stopVideo(room); // the call ended while the browser was asking
        this.showVideo();
      }
    }

    videoFailed(kind, err) {
      const name = err && err.name;
      let key = `${kind}-failed`;
      if (DENIED.includes(name)) key = `${kind}-denied`;
      else if (kind === "camera" && ["NotFoundError", "DevicesNotFoundError", "OverconstrainedError"].includes(name)) {
        key = "no-camera";
      } else if (kind === "camera" && ["NotReadableError", "TrackStartError"].includes(name)) key = "camera-busy";
      else if (kind === "screen" && name === "DeviceUnsupportedError") key = "screen-unsupported";
      let text = VIDEO_ERRORS[key];
      if (key.endsWith("-failed")) text += `${(err && err.message) || err}. The call goes on with voice only.`;
      this.notice.textContent = text;
      this.notice.dataset.error = key;
      this.notice.hidden = false;
    }

    /** Buttons and previews from what the room really publishes; `pending` marks the button being toggled. */
    showVideo(pending) {
      const labels = { camera: ["Camera", "Stop camera"], screen: ["Share screen", "Stop sharing"] };
      for (const kind of ["camera", "screen"]) {
        const button = this.videoButtons[kind];
        const publication = this.state === "connected" ? this.videoPublication(kind) : null;
        const attr = kind === "camera" ? "camera" : "screenShare"; // data-camera / data-screen-share
        let state = publication ? "on" : "off";
        if (this.videoBusy === kind) state = pending || button.dataset[attr]; // starting or stopping
        button.dataset[attr] = state;
        button.setAttribute("aria-pressed", String(state === "on"));
        button.textContent = labels[kind][publication ? 1 : 0];
        button.disabled = this.state !== "connected" || Boolean(this.videoBusy);
        this.showPreview(kind, publication && publication.track);
      }
      this.previews.hidden = !this.previews.children.length;
    }

    showPreview(kind, track) {
      let figure = this.previews.querySelector(`[data-source="${kind}"]`);
      if (figure && figure.track !== track) {
        figure.track.detach(figure.querySelector("video"));
        figure.remove();
        figure = null;
      }
      if (!track || figure) return;
      figure = el("figure", { class: "vo-preview", "data-source": kind });
      const video = el("video", { muted: "", playsinline: "", autoplay: "" });
      video.muted = true;
      track.attach(video);
      figure.track = track;
      figure.append(video, el("figcaption", {}, kind === "camera" ? "Your camera" : "Your screen"));
      this.previews.append(figure);
    }

    /** Release camera and screen at once (End, page hide): the room's own cleanup is asynchronous. */
    stopVideo(room) {
      if (!room) return;
      for (const kind of ["camera", "screen"]) {
        const publication = room.localParticipant.getTrackPublication(this.videoSource(kind));
        if (publication && publication.track) publication.track.stop();
      }
    }

    showConnection(state, text) {
      this.connection.dataset.connectionState = state;
      this.connection.textContent = text;
    }

    end(why) {
      if (this.state === "busy") { this.stopWaiting(why); return; }
      if (!this.room) return;
      this.endedByUs = true;
      this.disconnect();
      if (this.state === "connecting" || this.state === "connected") {
        this.setState("idle");
        this.root.dataset.endedBecause = why;
        this.announceEnd("abandoned", why);
      }
    }

    disconnect() {
      clearTimeout(this.agentTimer);
      (this.meters || []).forEach((stop) => stop());
      this.meters = [];
      if (this.localTrack) this.localTrack.stop();
      this.localTrack = null;
      const room = this.room;
      this.room = null;
      this.stopVideo(room);
      if (room) { this.endedByUs = true; room.disconnect(); }
      this.showVideo();
      this.agentState.dataset.agentState = "";
      this.agentState.textContent = "Agent: gone";
    }
  }

  function mount(root) {
    if (!root || root.voiceOnboarding) return root && root.voiceOnboarding;
    if (!window.LivekitClient) {
      root.textContent = "The voice widget needs livekit-client: load /vendor/livekit-client.umd.js before it.";
      return null;
    }
    root.voiceOnboarding = new VoiceOnboardingWidget(root);
    return root.voiceOnboarding;
  }

  function unmount(root) {
    const widget = root && root.voiceOnboarding;
    if (!widget) return;
    widget.end("unmounted");
    window.removeEventListener("pagehide", widget.onPageHide);
    root.replaceChildren();
    delete root.voiceOnboarding;
  }

  function mountAll(scope) {
    (scope || document).querySelectorAll("[data-voice-onboarding]").forEach(mount);
  }

  // unmount + mount re-reads the data-* attributes (single-page apps that change them)
  window.VoiceOnboarding = { mount, mountAll, unmount };
  // Pages that render late (Gradio, single-page apps) add the element after this script ran.
  const observe = () => {
    mountAll(document);
    new MutationObserver(() => mountAll(document)).observe(document.body, { childList: true, subtree: true });
  };
  // One script tag: fetch what the page did not load itself, then mount.
  function loadDependencies(done) {
    if (!document.querySelector('link[href$="voice-widget.css"]')) {
      const css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = fromServer("/static/voice-widget.css");
      document.head.appendChild(css);
    }
    if (window.LivekitClient) { done(); return; }
    const lib = document.createElement("script");
    lib.src = fromServer("/vendor/livekit-client.umd.js");
    lib.onload = done;
    lib.onerror = () => document.querySelectorAll("[data-voice-onboarding]").forEach((root) => {
      root.textContent = "The voice widget could not load livekit-client from " + lib.src + ".";
    });
    document.head.appendChild(lib);
  }
  const start = () => loadDependencies(observe);
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
