/* The phone simulator's script (gateway/simulator): a basic phone on the page.

   USSD: one session id per dial; every answer is kept and the whole list is sent joined
   by "*" in `text`, exactly as Africa's Talking does, to /simulator/ussd, which hands it
   to /ussd in the gateway with the callback's secret. The reply is "CON ..." (the phone
   waits for an answer) or "END ..." (the session is over).

   Voice: /simulator/voice forwards Africa's Talking's voice callbacks to /voice; its XML
   reply is read here and shown as what would be said (Say), played (Play), the keys it
   waits for (GetDigits: sent back as dtmfDigits) or the caller it records (Record: the
   simulator's own silent recording is sent back as recordingUrl). A reply with nothing
   to wait for ends the call; hanging up posts isActive=0.

   Letters: the "123" key switches to multi-tap ("2" once A, twice B...); a letter is
   kept after `data-multitap-ms` without a press, on another key, or on "▸". */
"use strict";

(() => {
  const root = document.getElementById("simulator");
  if (!root) return;
  const byId = (id) => document.getElementById(id);
  const texts = JSON.parse(root.dataset.texts);
  const screen = byId("sim-screen");
  const entry = byId("sim-entry");
  const phone = byId("sim-phone");
  const code = byId("sim-code");
  const number = byId("sim-number");
  const transcript = byId("sim-transcript");
  const recordBox = byId("sim-record");
  const said = byId("sim-said");
  const silenceKey = byId("sim-silence");
  const lettersKey = byId("sim-letters");
  const LETTERS = {
    1: ".,?!'-1", 2: "ABC2", 3: "DEF3", 4: "GHI4", 5: "JKL5",
    6: "MNO6", 7: "PQRS7", 8: "TUV8", 9: "WXYZ9", 0: " 0",
  };

  const phoneState = {
    // idle | ussd | ussd-ended | digits | record | call | call-ended
    mode: "idle",
    busy: false,
    session: "",
    typed: [],
    letters: false,
    tap: null, // {key, index, timer}: the letter being chosen
    wait: null, // what the voice reply waits for: {numDigits, finishOnKey, rest}
    started: 0,
    called: "", // the number of the call going on
  };

  const fill = (text, values) =>
    text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
  const channel = () => document.querySelector('input[name="channel"]:checked').value;
  const inCall = () => ["digits", "record", "call"].includes(phoneState.mode);

  function show(text, isError = false) {
    screen.textContent = text;
    screen.classList.toggle("error", isError);
  }

  function note(kind, text) {
    const line = document.createElement("li");
    line.className = kind;
    line.textContent = text;
    transcript.append(line);
  }

  function idle() {
    keepLetter();
    phoneState.mode = "idle";
    phoneState.wait = null;
    recordBox.hidden = true;
    silenceKey.hidden = true;
    entry.value = "";
    show(fill(texts.idle, { code: channel() === "ussd" ? code.value : number.value }));
  }

  function newSession() {
    const bytes = new Uint8Array(8);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /* Multi-tap letters */
  function keepLetter() {
    if (phoneState.tap) clearTimeout(phoneState.tap.timer);
    phoneState.tap = null;
  }

  function tapLetter(key) {
    const choices = LETTERS[key];
    const tap = phoneState.tap;
    if (tap && tap.key === key) {
      clearTimeout(tap.timer);
      tap.index = (tap.index + 1) % choices.length;
      entry.value = entry.value.slice(0, -1) + choices[tap.index];
    } else {
      keepLetter();
      phoneState.tap = { key, index: 0, timer: 0 };
      entry.value += choices[0];
    }
    phoneState.tap.timer = setTimeout(keepLetter, Number(root.dataset.multitapMs) || 1200);
  }

  function press(key) {
    if (phoneState.busy) return;
    if (phoneState.mode === "ussd-ended" || phoneState.mode === "call-ended") idle();
    if (phoneState.mode === "digits") return voiceKey(key);
    if (phoneState.mode === "record") {
      if (key === phoneState.wait.finishOnKey) spoken();
      return;
    }
    if (phoneState.letters && key in LETTERS) return tapLetter(key);
    keepLetter();
    entry.value += key;
  }

  /* The server */
  // `data-busy` on the phone says a request is out (what a test waits on).
  function setBusy(busy) {
    phoneState.busy = busy;
    root.dataset.busy = String(busy);
  }

  async function post(path, fields) {
    setBusy(true);
    const form = new URLSearchParams({ ...fields, csrf: root.dataset.csrf, phoneNumber: phone.value });
    try {
      const reply = await fetch(path, {
        method: "POST",
        body: form,
        credentials: "same-origin",
        headers: { Accept: "text/plain, application/xml" },
      });
      return { status: reply.status, text: await reply.text() };
    } catch (error) {
      return { status: 0, text: texts.network_error };
    } finally {
      setBusy(false);
    }
  }

  /* USSD */
  function dial() {
    const dialled = (entry.value.trim() || code.value.trim()).replace(/\s+/g, "");
    const base = code.value.trim().replace(/#$/, "");
    const rest = dialled.startsWith(base) && dialled.endsWith("#") ? dialled.slice(base.length, -1) : null;
    if (rest === null || (rest !== "" && !rest.startsWith("*"))) {
      show(fill(texts.unknown_code, { code: code.value }), true);
      phoneState.mode = "ussd-ended";
      return;
    }
    phoneState.session = newSession();
    // A dial string like *384*22*1# carries its first answers, as the operator passes them on.
    phoneState.typed = rest ? rest.slice(1).split("*") : [];
    entry.value = "";
    return hop();
  }

  async function hop() {
    show(texts.sending);
    const reply = await post("/simulator/ussd", {
      session: phoneState.session,
      code: code.value.trim(),
      text: phoneState.typed.join("*"),
    });
    if (reply.status === 200 && reply.text.startsWith("CON ")) {
      phoneState.mode = "ussd";
      show(reply.text.slice(4));
    } else if (reply.status === 200 && reply.text.startsWith("END ")) {
      phoneState.mode = "ussd-ended";
      show(reply.text.slice(4));
    } else {
      phoneState.mode = "ussd-ended";
      const text = reply.text.replace(/^(CON|END) /, "");
      show(reply.status ? text || fill(texts.operator_error, { status: reply.status }) : text, true);
    }
  }

  function answer() {
    keepLetter();
    phoneState.typed.push(entry.value);
    entry.value = "";
    return hop();
  }

  /* Voice */
  function call() {
    phoneState.session = newSession();
    phoneState.started = Date.now();
    phoneState.mode = "call";
    phoneState.called = entry.value.trim() || number.value.trim();
    transcript.replaceChildren();
    entry.value = "";
    show(fill(texts.calling, { number: phoneState.called }));
    return callback({ isActive: "1" });
  }

  async function callback(fields) {
    const reply = await post("/simulator/voice", {
      session: phoneState.session,
      number: phoneState.called,
      ...fields,
    });
    if (fields.isActive === "0") return;
    if (reply.status === 404) return over(texts.voice_unavailable, true);
    if (reply.status !== 200) {
      return over(reply.status ? reply.text || fill(texts.operator_error, { status: reply.status }) : reply.text, true);
    }
    perform(reply.text);
  }

  function perform(xml) {
    const document_ = new DOMParser().parseFromString(xml, "application/xml");
    const top = document_.documentElement;
    if (document_.getElementsByTagName("parsererror").length || top.nodeName !== "Response") {
      note("note", texts.invalid_xml);
      return hangUp(texts.invalid_xml, true);
    }
    run(Array.from(top.children));
  }

  function speak(element) {
    if (element.nodeName === "Say") {
      note("say", element.textContent.trim());
      return element.textContent.trim();
    }
    if (element.nodeName === "Play") {
      const url = element.getAttribute("url") || "";
      const text = fill(texts.recording, { file: url.split("/").pop() || url });
      note("play", text);
      return text;
    }
    return "";
  }

  function prompts(element) {
    return Array.from(element.children).map(speak).filter(Boolean).join("\n");
  }

  // The actions of a reply in order; stops at the first that waits for the caller.
  function run(actions) {
    const spoken = [];
    for (let at = 0; at < actions.length; at += 1) {
      const action = actions[at];
      const rest = actions.slice(at + 1);
      switch (action.nodeName) {
        case "Say":
        case "Play":
          spoken.push(speak(action));
          break;
        case "GetDigits":
          spoken.push(prompts(action));
          phoneState.wait = {
            numDigits: Number(action.getAttribute("numDigits")) || 0,
            finishOnKey: action.getAttribute("finishOnKey") || "#",
            rest,
          };
          phoneState.mode = "digits";
          silenceKey.hidden = false;
          show(`${spoken.join("\n")}\n\n${texts.press_keys}`);
          return;
        case "Record":
          spoken.push(prompts(action));
          phoneState.wait = { numDigits: 0, finishOnKey: action.getAttribute("finishOnKey") || "#", rest };
          phoneState.mode = "record";
          silenceKey.hidden = false;
          recordBox.hidden = false;
          said.value = "";
          said.focus();
          show(`${spoken.join("\n")}\n\n${texts.speak}`);
          return;
        case "Redirect":
          show(spoken.join("\n"));
          return callback({ isActive: "1" });
        case "Reject":
          note("note", texts.rejected);
          return hangUp(texts.rejected, false);
        default:
          note("note", fill(texts.unsupported, { name: action.nodeName }));
      }
    }
    // Nothing waits for the caller: the provider hangs up once it has spoken.
    hangUp(`${spoken.join("\n")}\n\n${texts.call_ended}`, false);
  }

  function voiceKey(key) {
    const wait = phoneState.wait;
    if (key === wait.finishOnKey) return sendDigits();
    entry.value += key;
    if (wait.numDigits && entry.value.length >= wait.numDigits) return sendDigits();
  }

  function sendDigits() {
    const digits = entry.value;
    if (!digits) return silence();
    entry.value = "";
    leaveWait();
    note("caller", fill(texts.you_pressed, { digits }));
    return callback({ isActive: "1", digits });
  }

  function spoken() {
    const words = said.value.trim();
    leaveWait();
    note("caller", fill(texts.you_said, { said: words || texts.silence }));
    return callback({ isActive: "1", recorded: "1" });
  }

  // Nothing pressed, nothing said: what follows the waiting action plays.
  function silence() {
    const rest = phoneState.wait ? phoneState.wait.rest : [];
    leaveWait();
    note("caller", texts.silence);
    run(rest);
  }

  function leaveWait() {
    phoneState.mode = "call";
    phoneState.wait = null;
    recordBox.hidden = true;
    silenceKey.hidden = true;
  }

  function over(text, isError) {
    leaveWait();
    phoneState.mode = "call-ended";
    show(text, isError);
  }

  async function hangUp(text, isError) {
    over(text, isError);
    const duration = Math.round((Date.now() - phoneState.started) / 1000);
    await callback({ isActive: "0", duration: String(duration) });
  }

  /* The keys */
  function send() {
    keepLetter();
    if (phoneState.busy) return;
    switch (phoneState.mode) {
      case "ussd":
        return answer();
      case "digits":
        return sendDigits();
      case "record":
        return spoken();
      case "call":
        return;
      default:
        return channel() === "ussd" ? dial() : call();
    }
  }

  function cancel() {
    keepLetter();
    if (phoneState.busy) return;
    if (inCall()) {
      note("note", texts.hung_up);
      return hangUp(texts.hung_up, false);
    }
    if (phoneState.mode === "ussd") {
      phoneState.mode = "ussd-ended";
      return show(texts.cancelled);
    }
    idle();
  }

  for (const key of root.querySelectorAll("[data-key]")) {
    key.addEventListener("click", () => press(key.dataset.key));
  }
  byId("sim-send").addEventListener("click", send);
  byId("sim-cancel").addEventListener("click", cancel);
  byId("sim-spoken").addEventListener("click", spoken);
  silenceKey.addEventListener("click", silence);
  byId("sim-next").addEventListener("click", keepLetter);
  byId("sim-erase").addEventListener("click", () => {
    keepLetter();
    entry.value = entry.value.slice(0, -1);
  });
  lettersKey.addEventListener("click", () => {
    keepLetter();
    phoneState.letters = !phoneState.letters;
    lettersKey.textContent = phoneState.letters ? "ABC" : "123";
    lettersKey.setAttribute("aria-pressed", String(phoneState.letters));
  });
  entry.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      send();
    }
  });
  byId("sim-settings").addEventListener("submit", (event) => event.preventDefault());
  // The fields and the transcript of the channel chosen (a reload may keep the choice).
  function showChannel() {
    for (const part of root.querySelectorAll("[data-channel]")) {
      part.hidden = part.dataset.channel !== channel();
    }
  }
  for (const radio of document.querySelectorAll('input[name="channel"]')) {
    radio.addEventListener("change", () => {
      if (inCall()) return;
      showChannel();
      idle();
    });
  }
  showChannel();
  idle();
})();
