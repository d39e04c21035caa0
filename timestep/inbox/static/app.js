// The approval inbox page. No framework and no build step.
//
// Every string that comes from a run (ids, agent and tool names, arguments, outputs, reviewer
// names, messages) reaches the DOM through textContent or a text node, never innerHTML; the
// server's Content-Security-Policy forbids inline script as a second line of defence.
"use strict";

(() => {
  const STATUS_ORDER = ["waiting_approval", "running", "queued", "failed", "cancelled", "succeeded"];
  const STATUS_LABEL = {
    waiting_approval: "Waiting for approval",
    running: "Running",
    queued: "Queued",
    failed: "Failed",
    cancelled: "Cancelled",
    succeeded: "Succeeded",
  };
  const PAST = { approve: "Approved", reject: "Rejected" };

  const state = {
    runs: [],
    selected: null,
    timeline: null,
    source: null,
    drafts: new Map(), // call id -> reject message being typed (survives live re-renders)
    busy: new Set(), // call ids with a decision in flight
  };

  const $ = (id) => document.getElementById(id);

  // Builds an element. Attributes are set with setAttribute and children are appended as text
  // nodes when they are strings, so nothing here parses HTML.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      // The custom header is what the server's CSRF check requires of cookie-authenticated
      // changes: a page on another origin cannot send it.
      init.headers["Content-Type"] = "application/json";
      init.headers["X-Timestep-Inbox"] = "1";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      window.location.assign("/login");
      throw new Error("Not logged in.");
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      throw new Error((data && data.detail) || `The server answered ${response.status}.`);
    }
    return data;
  }

  function notice(text, kind) {
    const box = $("notice");
    box.textContent = text;
    box.dataset.kind = kind || "info";
    box.hidden = !text;
  }

  function formatTime(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    return new Date(seconds * 1000).toLocaleString();
  }

  function ago(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const delta = Math.max(0, Date.now() / 1000 - seconds);
    if (delta < 60) return `${Math.floor(delta)} s ago`;
    if (delta < 3600) return `${Math.floor(delta / 60)} min ago`;
    if (delta < 86400) return `${Math.floor(delta / 3600)} h ago`;
    return `${Math.floor(delta / 86400)} d ago`;
  }

  // Tool arguments arrive as the model's JSON text; show them indented when they parse.
  function pretty(value) {
    if (typeof value === "string") {
      try {
        return JSON.stringify(JSON.parse(value), null, 2);
      } catch {
        return value;
      }
    }
    return JSON.stringify(value, null, 2);
  }

  function shortId(id) {
    return id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
  }

  // ---- run list -------------------------------------------------------------------------------

  function renderRuns() {
    const nav = $("runs");
    const groups = [];
    for (const status of STATUS_ORDER) {
      const runs = state.runs.filter((run) => run.status === status);
      if (runs.length === 0 && status !== "waiting_approval") continue;
      const items = runs.map((run) =>
        el(
          "li",
          {},
          el(
            "button",
            {
              type: "button",
              class: "run",
              "data-run-id": run.run_id,
              "data-status": run.status,
              "aria-current": run.run_id === state.selected ? "true" : null,
              title: run.run_id,
            },
            el("span", { class: "run-id" }, shortId(run.run_id)),
            el("span", { class: "run-agent" }, run.agent || "?"),
            run.pending.length
              ? el("span", { class: "pending-count" }, `${run.pending.length} pending`)
              : null,
            el("span", { class: "run-time" }, ago(run.updated_at || run.created_at)),
          ),
        ),
      );
      groups.push(
        el(
          "section",
          { class: "group", "data-status": status },
          el("h2", {}, STATUS_LABEL[status], el("span", { class: "count" }, String(runs.length))),
          items.length ? el("ul", {}, items) : el("p", { class: "empty" }, "Nothing is waiting."),
        ),
      );
    }
    nav.replaceChildren(...groups);
  }

  // ---- one run --------------------------------------------------------------------------------

  function currentRun() {
    const listed = state.runs.find((run) => run.run_id === state.selected);
    const fromTimeline = state.timeline && state.timeline.run;
    if (fromTimeline && fromTimeline.run_id === state.selected) {
      // The timeline is fetched for this run alone, so it is at least as fresh as the list.
      return listed && (listed.updated_at || 0) > (fromTimeline.updated_at || 0) ? listed : fromTimeline;
    }
    return listed || null;
  }

  function renderDetail() {
    const detail = $("detail");
    const run = currentRun();
    if (!run) {
      detail.replaceChildren(
        el("p", { class: "empty" }, state.selected ? "Loading…" : "Select a run to see its pending approvals and timeline."),
      );
      return;
    }
    const usage = run.usage || {};
    const parts = [
      el(
        "header",
        { class: "run-header" },
        el("h2", {}, el("span", { class: "mono" }, run.run_id)),
        el("span", { class: "badge", "data-status": run.status, id: "run-status" }, STATUS_LABEL[run.status] || run.status),
      ),
      el(
        "dl",
        { class: "facts" },
        el("dt", {}, "Agent"), el("dd", {}, run.agent || "—"),
        el("dt", {}, "Session"), el("dd", {}, run.session_id || "—"),
        el("dt", {}, "Started"), el("dd", {}, formatTime(run.created_at)),
        el("dt", {}, "Tokens"), el("dd", {}, `${usage.total_tokens || 0} in ${usage.requests || 0} model calls`),
      ),
    ];
    if (run.status === "waiting_approval" && run.pending.length) {
      parts.push(el("h3", {}, "Pending approvals"));
      parts.push(...run.pending.map((call) => approvalCard(run, call)));
    }
    if (run.status === "succeeded") {
      parts.push(el("h3", {}, "Output"), el("pre", { class: "output" }, pretty(run.output)));
    }
    if (run.error) {
      parts.push(el("h3", {}, "Error"), el("pre", { class: "output error" }, run.error));
    }
    parts.push(el("h3", {}, "Timeline"), timelineList());
    // Live updates rebuild this panel; keep the reviewer's cursor in the message being typed.
    const active = document.activeElement;
    const typing = active && active.classList.contains("reject-message") ? active.closest("article") : null;
    const typingCall = typing ? typing.dataset.callId : null;
    const caret = typing ? active.selectionStart : null;
    detail.replaceChildren(...parts);
    if (typingCall) {
      const again = [...detail.querySelectorAll("article.approval")].find((a) => a.dataset.callId === typingCall);
      const input = again && again.querySelector(".reject-message");
      if (input) {
        input.focus();
        input.setSelectionRange(caret, caret);
      }
    }
  }

  function approvalCard(run, call) {
    const busy = state.busy.has(call.call_id);
    const message = el("input", {
      type: "text",
      class: "reject-message",
      placeholder: "Message for the model (optional)",
      maxlength: "4000",
      "aria-label": "Rejection message",
      disabled: busy,
    });
    message.value = state.drafts.get(call.call_id) || "";
    message.addEventListener("input", () => state.drafts.set(call.call_id, message.value));
    const button = (label, cls, onClick) => {
      const node = el("button", { type: "button", class: cls, disabled: busy }, label);
      node.addEventListener("click", onClick);
      return node;
    };
    return el(
      "article",
      { class: "approval", "data-call-id": call.call_id },
      el(
        "header",
        {},
        el("span", { class: "agent" }, call.agent),
        " wants to call ",
        el("span", { class: "tool mono" }, call.tool_name),
      ),
      el(
        "p",
        { class: "since" },
        "Waiting since ",
        el("time", {}, formatTime(call.requested_at)),
        ` (${ago(call.requested_at)}) · call `,
        el("span", { class: "mono" }, call.call_id),
      ),
      el("pre", { class: "arguments" }, pretty(call.arguments)),
      el(
        "div",
        { class: "actions" },
        button("Approve", "approve", () => decide(run, call, "approve", false)),
        button("Always approve", "always", () => decide(run, call, "approve", true)),
        message,
        button("Reject", "reject", () => decide(run, call, "reject", false, message.value)),
      ),
    );
  }

  function timelineList() {
    const timeline = state.timeline && state.timeline.run.run_id === state.selected ? state.timeline : null;
    if (!timeline) return el("p", { class: "empty" }, "Loading…");
    return el(
      "ol",
      { class: "timeline" },
      timeline.events.map((event) =>
        el(
          "li",
          { "data-type": event.type },
          el("time", {}, event.at ? new Date(event.at * 1000).toLocaleTimeString() : ""),
          el("div", { class: "what" }, describe(event)),
        ),
      ),
    );
  }

  function describe(event) {
    const data = event.data || {};
    switch (event.type) {
      case "run_created":
        return ["Run started for agent ", el("b", {}, data.agent || "?")];
      case "model_response": {
        const lines = (data.items || []).map((item) => {
          if (item.type === "function_call") {
            return el("div", {}, "Model asks to call ", el("span", { class: "mono" }, `${item.name}(${item.arguments || ""})`));
          }
          if (item.type === "message") {
            const text = (item.content || []).map((part) => part.text || "").join("");
            return el("div", {}, "Model says: ", el("q", {}, text));
          }
          return el("div", {}, `Model output: ${item.type}`);
        });
        const tokens = data.usage ? ` (${data.usage.total_tokens} tokens)` : "";
        return [el("div", { class: "kind" }, `Model turn${tokens}`), ...lines];
      }
      case "approval_required":
        return [
          "Parked: waiting for approval of ",
          (data.pending || []).map((p) => `${p.tool_name} (${p.call_id})`).join(", "),
        ];
      case "decision": {
        const target = data.call_id ? el("span", { class: "mono" }, data.call_id) : "all pending calls";
        return el(
          "span",
          { class: "decision", "data-decision": data.decision },
          `${PAST[data.decision] || data.decision}${data.always ? " (always)" : ""} `,
          target,
          " by ",
          el("b", { class: "decided-by" }, data.decided_by || "unknown"),
          data.decided_at ? ` at ${formatTime(data.decided_at)}` : "",
          data.message ? [": ", el("q", {}, data.message)] : "",
        );
      }
      case "tool_output":
        return ["Tool ", el("span", { class: "mono" }, data.tool), " returned ", el("q", {}, pretty(data.output))];
      case "step_failed":
        return ["Step ", el("span", { class: "mono" }, data.step), ` failed: ${data.error}`];
      case "run_completed":
        return ["Completed: ", el("q", {}, pretty(data.output))];
      case "run_failed":
        return [`Failed: ${data.error}`];
      case "run_cancelled":
        return ["Cancelled"];
      default:
        return [event.type];
    }
  }

  // ---- actions --------------------------------------------------------------------------------

  async function decide(run, call, verb, always, message) {
    const reviewer = $("reviewer").value.trim();
    if (!reviewer) {
      notice("Enter your name as reviewer first: every decision is recorded with it.", "error");
      $("reviewer").focus();
      return;
    }
    const body = { reviewer, always };
    if (verb === "reject" && message && message.trim()) body.message = message.trim();
    state.busy.add(call.call_id);
    renderDetail();
    try {
      const path = `/api/runs/${encodeURIComponent(run.run_id)}/calls/${encodeURIComponent(call.call_id)}/${verb}`;
      const sent = await api("POST", path, body);
      state.drafts.delete(call.call_id);
      notice(`${PAST[sent.decision]} ${sent.call_id} as ${sent.decided_by}.`, "ok");
    } catch (error) {
      notice(error.message, "error");
    } finally {
      state.busy.delete(call.call_id);
      renderDetail();
    }
  }

  async function select(runId) {
    state.selected = runId;
    state.timeline = null;
    history.replaceState(null, "", `#run=${encodeURIComponent(runId)}`);
    renderRuns();
    renderDetail();
    connect(); // the stream now follows this run's timeline too
    try {
      const timeline = await api("GET", `/api/runs/${encodeURIComponent(runId)}/timeline`);
      if (state.selected === runId) {
        state.timeline = timeline;
        renderDetail();
      }
    } catch (error) {
      notice(error.message, "error");
    }
  }

  // ---- live updates -----------------------------------------------------------------------------

  function setLive(text, status) {
    const live = $("live");
    live.textContent = text;
    live.dataset.state = status;
  }

  function connect() {
    if (state.source) state.source.close();
    const url = state.selected ? `/api/events?run_id=${encodeURIComponent(state.selected)}` : "/api/events";
    const source = new EventSource(url);
    state.source = source;
    source.addEventListener("open", () => setLive("live", "live"));
    source.addEventListener("error", () => {
      setLive("reconnecting…", "down");
      // EventSource hides the status code; ask the API whether the session has ended.
      api("GET", "/api/runs?limit=1").catch(() => {});
    });
    source.addEventListener("runs", (event) => {
      state.runs = JSON.parse(event.data).runs;
      renderRuns();
      renderDetail();
    });
    source.addEventListener("timeline", (event) => {
      const timeline = JSON.parse(event.data);
      if (timeline.run.run_id === state.selected) {
        state.timeline = timeline;
        renderDetail();
      }
    });
  }

  // ---- start ----------------------------------------------------------------------------------

  function start() {
    const reviewer = $("reviewer");
    reviewer.value = localStorage.getItem("timestep.reviewer") || "";
    reviewer.addEventListener("input", () => localStorage.setItem("timestep.reviewer", reviewer.value));
    $("runs").addEventListener("click", (event) => {
      const button = event.target.closest("button.run");
      if (button) select(button.dataset.runId);
    });
    $("logout").addEventListener("click", async () => {
      if (state.source) state.source.close();
      await api("POST", "/logout", {}).catch(() => {});
      window.location.assign("/login");
    });
    api("GET", "/api/runs?limit=100")
      .then((data) => {
        state.runs = data.runs;
        renderRuns();
        renderDetail();
      })
      .catch((error) => notice(error.message, "error"));
    const match = /^#run=(.+)$/.exec(window.location.hash);
    if (match) select(decodeURIComponent(match[1]));
    else connect();
    // Relative times ("3 min ago") age without any event; refresh them now and then.
    setInterval(() => {
      renderRuns();
      renderDetail();
    }, 15000);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
