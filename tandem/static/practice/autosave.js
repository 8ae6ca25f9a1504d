// Skills practice: keep a worksheet's draft as the patient types, on the server and on this device.
//
// Every change raises the form's draft version, writes a copy to localStorage at once and, after
// a pause in typing, posts the form to the draft URL with that version. The server keeps a save
// only when its version is newer than the one it has, so a slow, older save never overwrites a
// newer one. With no connection the device's copy stays; it is sent when the browser is back
// online, or restored (and sent) the next time the form is opened. Sent entries clear the copy.
// Without this script the form still works: "Save draft" and "Send" are plain posts.
(function () {
  "use strict";
  var SKIP = { csrfmiddlewaretoken: true, key: true, version: true, action: true };
  var PAUSE_MS = 800;

  function load(name) {
    try {
      var text = window.localStorage.getItem(name);
      return text ? JSON.parse(text) : null;
    } catch (e) {
      return null;
    }
  }
  function keep(name, value) {
    try {
      window.localStorage.setItem(name, JSON.stringify(value));
      return true;
    } catch (e) {
      return false;
    }
  }
  function forget(name) {
    try {
      window.localStorage.removeItem(name);
    } catch (e) {
      /* storage unavailable: nothing kept, nothing to forget */
    }
  }
  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // The page after a sent entry: the device's copy of that form is no longer needed.
  var sent = document.querySelector("[data-practice-clear]");
  if (sent) {
    var storedName = sent.getAttribute("data-practice-clear");
    var stored = load(storedName);
    if (stored && stored.key === sent.getAttribute("data-practice-key")) {
      forget(storedName);
    }
  }

  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var status = document.getElementById("draft-status");
  var storageKey = form.getAttribute("data-storage-key");
  var url = form.getAttribute("data-draft-url");
  var keyInput = form.querySelector('input[name="key"]');
  var versionInput = form.querySelector('input[name="version"]');
  var csrfInput = form.querySelector('input[name="csrfmiddlewaretoken"]');
  var serverVersion = parseInt(form.getAttribute("data-version"), 10) || 0;
  var serverSavedAt = parseInt(form.getAttribute("data-saved-at"), 10) || 0;
  var version = serverVersion; // the newest version typed on this page
  var acked = serverVersion; // the newest version the server is known to hold
  var timer = null;
  var inflight = false;
  var closed = false; // sent already, or refused: stop saving
  var overrule = false; // a restored copy known to be newer than the server's

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }
  function setVersion(value) {
    version = value;
    // A plain "Save draft" or "Send" post carries a version newer than any autosave.
    versionInput.value = String(value + 1);
  }
  function values() {
    var out = {};
    new FormData(form).forEach(function (value, name) {
      if (!SKIP[name] && typeof value === "string" && value !== "") {
        out[name] = value;
      }
    });
    return out;
  }
  function fill(data) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || el.tagName === "BUTTON") {
        return;
      }
      if (el.type === "radio" || el.type === "checkbox") {
        el.checked = data[el.name] === el.value;
      } else {
        el.value = data[el.name] || "";
      }
    });
  }
  function keepHere() {
    keep(storageKey, { key: keyInput.value, version: version, savedAt: Date.now(), data: values() });
  }
  function schedule(ms) {
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(send, ms);
  }
  function send() {
    timer = null;
    if (closed || inflight || version <= acked) {
      return;
    }
    inflight = true;
    var sending = version;
    var body = new FormData(form);
    body.set("version", String(sending));
    body.set("key", keyInput.value);
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfInput ? csrfInput.value : "", Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok && response.status !== 400) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (answer) {
        inflight = false;
        if (answer.state === "saved") {
          acked = Math.max(acked, answer.version);
          overrule = false;
          say("Draft saved at " + clock(Date.now()) + ".");
        } else if (answer.state === "stale") {
          acked = Math.max(acked, answer.version);
          if (overrule && version <= answer.version) {
            setVersion(answer.version + 1); // what this device restored is the newer text
            keepHere();
          }
        } else if (answer.state === "submitted") {
          closed = true;
          forget(storageKey);
          say("This form was already sent.");
        } else {
          closed = true;
          say(answer.error || "This draft could not be saved. Reload the page.");
        }
        if (!closed && version > acked) {
          schedule(0);
        }
      })
      .catch(function () {
        inflight = false;
        say("No connection: your answers are kept on this device and will be saved when you are back online.");
      });
  }
  function changed() {
    setVersion(version + 1);
    keepHere();
    schedule(PAUSE_MS);
  }

  // Opening the form: restore the newest draft, the server's (already in the page) or this device's.
  var local = load(storageKey);
  if (local && local.data && typeof local.version === "number") {
    var sameForm = local.key === keyInput.value;
    var newer = sameForm ? local.version > serverVersion : serverVersion === 0 || local.savedAt > serverSavedAt;
    if (newer) {
      if (!sameForm) {
        keyInput.value = local.key;
        acked = 0;
      }
      fill(local.data);
      setVersion(Math.max(local.version, sameForm ? serverVersion + 1 : 1));
      overrule = true;
      say("Restored the answers kept on this device (from " + clock(local.savedAt) + "). Saving them now…");
      schedule(0);
    }
  }
  setVersion(version);

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", function () {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    keepHere();
  });
  window.addEventListener("online", function () {
    if (version > acked) {
      schedule(0);
    }
  });
})();
