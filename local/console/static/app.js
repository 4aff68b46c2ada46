// The local console: the clinician app's screens over the public API (same routes, same bearer
// token). Plain JavaScript, no library, nothing from another host. Text in French.
"use strict";

const PAGE_SIZE = 20;
const DAY = 86400;
const STATUS = { pending: "En attente", accepted: "Acceptée", expired: "Expirée" };
const DELIVERY = {
  queued: "en cours d'envoi",
  sent: "envoyée",
  delivered: "remise",
  bounced: "adresse invalide",
  complained: "signalée comme indésirable",
  failed: "échec",
  not_sent: "non envoyée",
};
const BAD_DELIVERY = new Set(["bounced", "complained", "failed", "not_sent"]);
const HISTORY = {
  sent: "Invitation envoyée",
  created: "Invitation créée",
  resent: "Invitation renvoyée",
  corrected: "Coordonnées corrigées",
  reminded: "Relance envoyée",
  queued: "Envoi en attente",
  delivered: "Message remis",
  bounced: "Adresse invalide (message rejeté)",
  complained: "Signalée comme indésirable",
  failed: "Échec de l'envoi",
  not_sent: "Message non envoyé",
  fallback_sms: "Renvoyée par SMS (l'e-mail n'est pas passé)",
  accepted: "Acceptée par le patient",
  expired: "Expirée",
  deleted: "Supprimée",
  dispatched: "Message transmis au fournisseur",
  suppressed: "Adresse bloquée après un rejet",
};
const ACTOR = { clinician: "par vous", patient: "par le patient", system: "par le service" };
const FIELD_LABELS = { first_name: "Prénom", last_name: "Nom", email: "Adresse e-mail", phone: "Téléphone mobile", locale: "Langue", time_zone: "Fuseau horaire" };
// Where the service sends SMS (SmsCountries): the dates of the patient's messages and pages are
// shown in the patient's time zone, so that a patient in Réunion does not read Paris' hours.
const TIME_ZONES = {
  "Europe/Paris": "Métropole (Paris)",
  "America/Guadeloupe": "Guadeloupe",
  "America/Martinique": "Martinique",
  "America/Cayenne": "Guyane",
  "Indian/Reunion": "La Réunion",
  "Indian/Mayotte": "Mayotte",
};
const dateFormat = new Intl.DateTimeFormat("fr-FR", { dateStyle: "medium", timeStyle: "short", timeZone: "Europe/Paris" });

// -- small helpers ------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const $ = (selector, root = document) => root.querySelector(selector);
const capital = (text) => text[0].toUpperCase() + text.slice(1);
const when = (iso) => (iso ? dateFormat.format(new Date(iso)) : "—");
const fullName = (person) => `${person.first_name || ""} ${person.last_name || ""}`.trim() || "(sans nom)";

function announce(text) {
  const region = $("#announce");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}

// A new action: what the previous one said is gone (a new message then means something).
function clearNotices() {
  for (const old of document.querySelectorAll("#main .notice:not(.form-error)")) old.remove();
}

function notice(text, kind = "") {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

let flash = null; // a message for the next screen (after a navigation)

function go(hash, message) {
  flash = message || null;
  if (location.hash === hash) render();
  else location.hash = hash;
}

function confirmDialog(title, text, action) {
  const dialog = $("#confirm");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

// -- the session: a local clinician's token -----------------------------------------------------

const session = {
  get token() { return sessionStorage.getItem("token"); },
  get sub() { return sessionStorage.getItem("sub"); },
  get name() { return sessionStorage.getItem("name"); },
  save(answer) {
    sessionStorage.setItem("token", answer.token);
    sessionStorage.setItem("sub", answer.sub);
    sessionStorage.setItem("name", answer.name);
  },
  clear() { sessionStorage.clear(); },
};

async function signIn(sub, name) {
  const response = await fetch("/_local/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sub, name }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) return { error: body.error || { message: "Connexion impossible." } };
  session.save(body);
  return { ok: true };
}

class SignedOut extends Error {}

// The public API, exactly as the clinician app calls it.
async function api(method, path, body, headers = {}) {
  const init = { method, headers: { Accept: "application/json", Authorization: `Bearer ${session.token}`, ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    session.clear();
    go("#/", "Votre session a expiré : reconnectez-vous.");
    throw new SignedOut();
  }
  let data = null;
  if (response.status !== 204) data = await response.json().catch(() => null);
  return { status: response.status, ok: response.ok, data, headers: response.headers };
}

function errorText(answer) {
  const error = (answer.data && answer.data.error) || {};
  const retry = answer.headers && answer.headers.get("Retry-After");
  switch (error.code) {
    case "invitation_accepted":
      return "L'invitation a déjà été acceptée : ses coordonnées appartiennent maintenant à la fiche du patient.";
    case "address_undeliverable":
      return "Cette adresse e-mail a été rejetée : corrigez les coordonnées (ou ajoutez un téléphone) puis renvoyez l'invitation.";
    case "not_found":
      return "Cette invitation n'existe pas ou plus.";
  }
  if (answer.status === 429) {
    const minutes = retry ? Math.max(1, Math.ceil(Number(retry) / 60)) : null;
    return `Trop d'envois pour le moment${minutes ? ` : réessayez dans ${minutes} min` : ""}.`;
  }
  return error.message || `Le service a répondu ${answer.status}.`;
}

// -- forms --------------------------------------------------------------------------------------

function field(name, label, { type = "text", value = "", hint = "", required = false, autocomplete = "off" } = {}) {
  const id = `f-${name}`;
  const hintId = hint ? `${id}-hint` : null;
  return h("div", { class: "field" },
    h("label", { for: id }, label, hint ? h("span", { class: "hint", id: hintId }, ` ${hint}`) : null),
    h("input", { id, name, type, value: value || "", required, autocomplete, "aria-describedby": [hintId, `${id}-error`].filter(Boolean).join(" ") }),
    h("p", { class: "field-error", id: `${id}-error` }));
}

function formValues(form, names) {
  const values = {};
  for (const name of names) values[name] = form.elements[name].value.trim();
  return values;
}

function clearErrors(form) {
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const p of form.querySelectorAll(".field-error")) p.textContent = "";
  const general = $(".form-error", form);
  if (general) general.remove();
}

// The API's field messages are English (the contract's); the console shows them in French. An
// unknown message is shown as the API wrote it rather than hidden.
const FIELD_MESSAGES = [
  [/^required$/, "Champ obligatoire."],
  [/^unknown field$/, "Champ inconnu."],
  [/^String should have at least 1 character/, "Ne peut pas être vide."],
  [/^String should have at most (\d+) characters?/, (n) => `${n} caractères au plus.`],
  [/^Input should be 'fr' or 'en'/, "Choisissez le français ou l'anglais."],
  [/^give an email address or a phone number$/, "Donnez une adresse e-mail ou un numéro de téléphone."],
  [/^must be an email address of at most 254 characters$/, "Adresse e-mail de 254 caractères au plus."],
  [/^must be an email address with only ASCII letters before the @$/, "Adresse e-mail invalide (lettres sans accent avant le @)."],
  [/^must be a phone number, French national or E\.164$/, "Numéro invalide : 06 12 34 56 78 ou +33 6 12 34 56 78."],
  [/^must be a phone number$/, "Numéro de téléphone invalide."],
  [/^must be a valid phone number$/, "Ce numéro n'existe pas."],
  [/^must be a mobile number/, "Il faut un numéro de mobile : l'invitation part par SMS."],
  [/^SMS can only be sent to numbers of: (.+)$/, (list) => `Les SMS ne partent que vers ces pays : ${list}.`],
  [/^must be an IANA time zone name/, "Fuseau horaire inconnu (par exemple Europe/Paris)."],
  [/^must not contain control characters$/, "Caractères de contrôle interdits."],
  [/^must not contain text-direction controls$/, "Caractères de direction du texte interdits."],
  [/^must contain visible characters$/, "Ne peut pas être vide."],
  [/^(first_name|last_name) cannot be removed$/, "Ne peut pas être effacé."],
];

function fieldMessage(text) {
  for (const [pattern, french] of FIELD_MESSAGES) {
    const found = pattern.exec(text);
    if (found) return typeof french === "function" ? french(...found.slice(1)) : french;
  }
  return text;
}

// The API's 422: each field's message next to the field, the rest above the form.
function showErrors(form, answer) {
  clearErrors(form);
  const fields = (answer.data && answer.data.error && answer.data.error.fields) || {};
  const unplaced = [];
  let first = null;
  for (const [key, message] of Object.entries(fields)) {
    const name = String(key).split(".").pop();
    const input = form.elements[name];
    const text = fieldMessage(Array.isArray(message) ? message.join(" ") : String(message));
    if (input && input.id) {
      input.setAttribute("aria-invalid", "true");
      $(`#${input.id}-error`, form).textContent = text;
      first = first || input;
    } else unplaced.push(`${FIELD_LABELS[name] || name} : ${text}`);
  }
  const summary = Object.keys(fields).length ? "Vérifiez les champs signalés." : errorText(answer);
  form.prepend(h("div", { class: "notice error form-error", role: "alert" }, summary, ...unplaced.map((t) => h("div", {}, t))));
  (first || form).focus();
}

// -- screens ------------------------------------------------------------------------------------

function screen(title, ...content) {
  const main = $("#main");
  const heading = typeof title === "string" ? h("h1", { tabindex: "-1" }, title) : title;
  main.replaceChildren(heading, ...(flash ? [notice(flash, "ok")] : []), ...content);
  flash = null;
  document.title = `${heading.textContent} — console locale`;
  focusHeading(); // a screen reader hears the new screen's title; typing starts from there
  return main;
}

function focusHeading() {
  const heading = $("#main h1");
  if (heading) heading.focus({ preventScroll: false });
}

function signInScreen() {
  const form = h("form", { class: "card", novalidate: true },
    field("sub", "Identifiant du clinicien", { hint: "(le « sub » du jeton, ex. dr-martin)", required: true, autocomplete: "username" }),
    field("name", "Nom affiché", { hint: "(ex. Dr Alice Martin)", required: true, autocomplete: "name" }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Se connecter")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { sub, name } = formValues(form, ["sub", "name"]);
    const answer = await signIn(sub, name);
    if (answer.error) return showErrors(form, { status: 422, data: { error: answer.error } });
    go("#/invitations", `Connecté·e en tant que ${session.name}.`);
  });
  screen("Connexion", h("p", {}, "Console locale de ", h("code", {}, "make dev"),
    " : choisissez le clinicien sous le nom duquel vous agissez. Le jeton est signé par la clé locale, comme ",
    h("code", {}, "make token"), "."), form);
}

const list = { q: "", status: "", delivery: "", seq: 0 };

function invitationRow(invitation) {
  const delivery = invitation.delivery || {};
  const channel = (delivery.channel || invitation.channel) === "sms" ? "SMS" : "e-mail";
  const deliveryText = invitation.status === "pending" && DELIVERY[delivery.status]
    ? h("span", { class: `delivery${BAD_DELIVERY.has(delivery.status) ? " bad" : ""}` }, ` · ${DELIVERY[delivery.status]}`)
    : null;
  return h("li", { class: "row" },
    h("div", {},
      h("a", { class: "name", href: `#/invitations/${encodeURIComponent(invitation.id)}` }, fullName(invitation)),
      h("p", { class: "meta" }, `${when(invitation.sent_at)} · par ${channel}`, deliveryText)),
    h("span", { class: `status ${invitation.status}` }, STATUS[invitation.status] || invitation.status));
}

async function loadInvitations(target, cursor, changed = false) {
  const seq = ++list.seq;
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (list.q) params.set("q", list.q);
  if (list.status) params.set("status", list.status);
  if (list.delivery) params.set("delivery", list.delivery);
  if (cursor) params.set("cursor", cursor);
  const answer = await api("GET", `/invitations?${params}`);
  if (seq !== list.seq) return; // a later search already answered
  const { items, more, count } = target;
  if (!cursor) items.replaceChildren();
  more.replaceChildren();
  if (!answer.ok) {
    items.replaceChildren(h("li", {}, notice(errorText(answer), "error")));
    return;
  }
  for (const invitation of answer.data.items || []) items.append(invitationRow(invitation));
  const shown = items.children.length;
  const filtered = list.status || list.delivery;
  const what = list.q ? `Aucune invitation au nom de « ${list.q} »${filtered ? " avec ces filtres" : ""}.`
    : filtered ? "Aucune invitation avec ces filtres." : "Aucune invitation pour l'instant.";
  if (!shown && filtered) {
    items.append(h("li", { class: "card empty" }, h("p", {}, h("strong", {}, what)),
      h("p", {}, h("button", { type: "button", class: "secondary", onclick: () => target.clearFilters() }, "Effacer les filtres"))));
  } else if (!shown) {
    items.append(h("li", { class: "card empty" }, h("p", {}, h("strong", {}, what)),
      h("p", {}, "Pour inviter un patient : ", h("a", { href: "#/nouvelle" }, "Nouvelle invitation"),
        " (prénom, nom, et une adresse e-mail ou un téléphone mobile).")));
  }
  count.textContent = shown ? `${shown} invitation${shown > 1 ? "s" : ""}${answer.data.next_cursor ? " (et d'autres)" : ""}` : "";
  if (changed) announce(shown ? count.textContent : what); // what the search or a filter found
  if (answer.data.next_cursor) {
    more.append(h("button", { type: "button", class: "secondary", onclick: () => loadInvitations(target, answer.data.next_cursor) }, "Afficher plus"));
  }
}

function listScreen() {
  const search = h("input", { type: "search", id: "q", name: "q", value: list.q, placeholder: "Nom du patient", autocomplete: "off", "aria-controls": "invitations" });
  const target = { items: h("ul", { class: "list", id: "invitations", "aria-label": "Invitations, les plus récentes d'abord" }), more: h("div", { class: "actions" }), count: h("p", { class: "small", id: "count" }) };
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { list.q = search.value.trim(); loadInvitations(target, null, true); }, 200);
  });
  const form = h("form", { role: "search", class: "search", onsubmit: (e) => { e.preventDefault(); list.q = search.value.trim(); loadInvitations(target, null, true); } },
    h("label", { for: "q" }, "Rechercher un patient"), search);
  // Filters (the API's `status` and `delivery`): e.g. the invitations whose address bounced, to correct.
  const filter = (id, label, key, choices) => {
    const select = h("select", { id, name: key, "aria-controls": "invitations" },
      ...Object.entries(choices).map(([value, text]) => h("option", { value, selected: list[key] === value }, text)));
    select.addEventListener("change", () => { list[key] = select.value; loadInvitations(target, null, true); });
    return h("div", {}, h("label", { for: id }, label), select);
  };
  target.clearFilters = () => {
    list.status = list.delivery = "";
    for (const select of filters.querySelectorAll("select")) select.value = "";
    loadInvitations(target, null, true);
    filters.querySelector("select").focus();
  };
  const filters = h("div", { class: "two", role: "group", "aria-label": "Filtrer la liste" },
    filter("f-status", "Statut", "status", { "": "Tous", ...STATUS }),
    filter("f-delivery", "Envoi", "delivery",
      { "": "Tous", ...Object.fromEntries(Object.entries(DELIVERY).map(([value, text]) => [value, capital(text)])) }));
  screen("Invitations patients",
    h("p", { class: "small" }, "Toutes vos invitations, acceptées ou non, les plus récentes d'abord."),
    form, filters, h("p", {}, h("a", { class: "button", href: "#/nouvelle" }, "Nouvelle invitation")),
    target.count, target.items, target.more);
  return loadInvitations(target);
}

function newScreen() {
  const form = h("form", { class: "card", novalidate: true, tabindex: "-1" },
    h("div", { class: "two" }, field("first_name", "Prénom", { required: true }), field("last_name", "Nom", { required: true })),
    field("email", "Adresse e-mail", { type: "email", hint: "(l'invitation part par e-mail si une adresse est donnée)" }),
    field("phone", "Téléphone mobile", { type: "tel", hint: "(sinon par SMS, ex. 06 12 34 56 78)" }),
    h("label", { for: "f-locale" }, "Langue de l'invitation"),
    h("select", { id: "f-locale", name: "locale" }, h("option", { value: "fr" }, "Français"), h("option", { value: "en" }, "Anglais")),
    h("p", { class: "field-error", id: "f-locale-error" }),
    h("label", { for: "f-time_zone" }, "Fuseau horaire du patient"),
    h("select", { id: "f-time_zone", name: "time_zone", "aria-describedby": "f-time_zone-hint f-time_zone-error" },
      ...Object.entries(TIME_ZONES).map(([value, text]) => h("option", { value }, text))),
    h("p", { class: "small", id: "f-time_zone-hint" }, "Les dates du message et de la page du lien sont données à son heure."),
    h("p", { class: "field-error", id: "f-time_zone-error" }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Envoyer l'invitation"),
      h("a", { class: "button secondary", href: "#/invitations" }, "Annuler")));
  const key = crypto.randomUUID(); // one Idempotency-Key per form: a double submit sends once
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form, ["first_name", "last_name", "email", "phone", "locale", "time_zone"]);
    const body = { first_name: values.first_name, last_name: values.last_name, locale: values.locale, time_zone: values.time_zone };
    if (values.email) body.email = values.email;
    if (values.phone) body.phone = values.phone;
    const button = $("button[type=submit]", form);
    button.disabled = true;
    try {
      const answer = await api("POST", "/invitations", body, { "Idempotency-Key": key });
      if (answer.status === 201) {
        const how = answer.data.channel === "sms" ? "par SMS" : "par e-mail";
        go(`#/invitations/${encodeURIComponent(answer.data.id)}`, `Invitation envoyée ${how} à ${fullName(answer.data)}.`);
      } else showErrors(form, answer);
    } finally {
      button.disabled = false;
    }
  });
  screen("Nouvelle invitation",
    h("p", { class: "small" }, "Une adresse e-mail ou un téléphone mobile suffit. Avec une adresse, l'invitation part par e-mail (elle peut arriver dans les courriers indésirables) ; sinon par SMS. Le lien est valable 14 jours."),
    form);
}

function channelFacts(invitation) {
  const delivery = invitation.delivery || {};
  const channel = delivery.channel || invitation.channel;
  const why = invitation.channel === "email"
    ? "E-mail : une adresse a été donnée (s'il n'arrive pas, le patient peut regarder dans ses courriers indésirables)."
    : "SMS : seul un téléphone a été donné.";
  const rows = [["Canal", why]];
  if (channel && channel !== invitation.channel) rows.push(["Dernier envoi", channel === "sms" ? "par SMS (repli : l'e-mail n'est pas passé)" : "par e-mail"]);
  if (invitation.status === "pending" && DELIVERY[delivery.status]) {
    rows.push(["État de l'envoi", `${capital(DELIVERY[delivery.status])}${delivery.at ? ` (${when(delivery.at)})` : ""}${delivery.detail ? ` — ${delivery.detail}` : ""}`]);
  }
  rows.push(["E-mail", invitation.email || "—"], ["Téléphone", invitation.phone || "—"]);
  const zone = TIME_ZONES[invitation.time_zone] || invitation.time_zone;
  // The dates here are Paris time (the console's); the patient's messages give them at the patient's.
  rows.push(["Fuseau horaire du patient", invitation.time_zone === "Europe/Paris" ? zone : `${zone} (les dates ci-dessous sont à l'heure de Paris)`]);
  rows.push(["Envoyée le", when(invitation.sent_at)]);
  if (invitation.status === "accepted") rows.push(["Acceptée le", when(invitation.accepted_at)]);
  else rows.push([invitation.status === "expired" ? "A expiré le" : "Valable jusqu'au", when(invitation.expires_at)]);
  if (invitation.send_count) rows.push(["Envois", String(invitation.send_count)]);
  return h("dl", { class: "facts" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function timeline(history) {
  if (!history.length) return h("p", { class: "small" }, "Rien pour l'instant.");
  return h("ol", { class: "timeline" }, history.map((item) =>
    h("li", {},
      h("span", { class: "when" }, when(item.at)),
      h("strong", {}, HISTORY[item.type] || String(item.type || "").replaceAll("_", " ")),
      ` ${ACTOR[item.actor] || ""}`,
      item.channel ? ` · ${item.channel === "sms" ? "SMS" : "e-mail"}` : "",
      item.detail ? h("div", { class: "small" }, item.detail) : null)));
}

function copyBox(id, label, value, buttonText) {
  const input = h("input", { id, type: "text", readonly: true, value });
  const said = h("span", { class: "small", role: "status" });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      input.select();
      document.execCommand("copy");
    }
    said.textContent = " Lien copié dans le presse-papiers.";
  };
  return h("div", { class: "linkbox" }, h("label", { for: id }, label), input,
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: copy }, buttonText), said));
}

async function invitationScreen(id) {
  const [answer, history] = await Promise.all([
    api("GET", `/invitations/${encodeURIComponent(id)}`),
    api("GET", `/invitations/${encodeURIComponent(id)}/history`),
  ]);
  if (!answer.ok) {
    screen("Invitation introuvable", notice(errorText(answer), "error"), h("p", {}, h("a", { href: "#/invitations" }, "Retour aux invitations")));
    return;
  }
  const invitation = answer.data;
  const accepted = invitation.status === "accepted";
  const name = accepted && invitation.patient_id
    ? h("a", { href: `#/patients/${encodeURIComponent(invitation.patient_id)}`, title: "Ouvrir la fiche du patient" }, fullName(invitation))
    : fullName(invitation);
  const title = h("div", { class: "title-row" }, h("h1", { tabindex: "-1" }, name),
    h("span", { class: `status ${invitation.status}` }, STATUS[invitation.status] || invitation.status));
  const messages = h("div", { id: "messages" });
  const say = (text, kind) => { messages.replaceChildren(notice(text, kind)); messages.scrollIntoView({ block: "nearest" }); };
  const sections = [messages, h("p", {}, h("a", { href: "#/invitations" }, "← Invitations patients")),
    h("section", { "aria-labelledby": "s-send", class: "card" }, h("h2", { id: "s-send" }, "Envoi"), channelFacts(invitation))];

  if (accepted) {
    sections.push(h("section", { class: "card", "aria-labelledby": "s-patient" }, h("h2", { id: "s-patient" }, "Patient"),
      h("p", {}, "L'invitation est acceptée : les coordonnées se corrigent dans la fiche du patient (cliquez sur son nom en haut, puis « Administratif », « Modifier »). Pour arrêter d'échanger avec ce patient : « Quitter le fil patient » dans sa fiche."),
      invitation.patient_id ? h("a", { class: "button", href: `#/patients/${encodeURIComponent(invitation.patient_id)}` }, "Ouvrir la fiche patient") : null));
  } else {
    const form = h("form", { class: "card", novalidate: true, tabindex: "-1", "aria-labelledby": "s-details" },
      h("h2", { id: "s-details" }, "Coordonnées"),
      h("p", { class: "small" }, "Une erreur ? Corrigez puis renvoyez l'invitation (un nouveau lien remplace l'ancien)."),
      h("div", { class: "two" }, field("first_name", "Prénom", { value: invitation.first_name }), field("last_name", "Nom", { value: invitation.last_name })),
      field("email", "Adresse e-mail", { type: "email", value: invitation.email }),
      field("phone", "Téléphone mobile", { type: "tel", value: invitation.phone }),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, "Enregistrer les corrections")));
    const original = formValues(form, ["first_name", "last_name", "email", "phone"]);
    const changes = () => {
      const now = formValues(form, ["first_name", "last_name", "email", "phone"]);
      const body = {};
      for (const key of Object.keys(now)) if (now[key] !== original[key]) body[key] = now[key] || null;
      return body;
    };
    const save = async () => {
      const body = changes();
      if (!Object.keys(body).length) return true;
      const saved = await api("PATCH", `/invitations/${encodeURIComponent(id)}`, body);
      if (!saved.ok) { showErrors(form, saved); return false; }
      clearErrors(form);
      Object.assign(original, formValues(form, ["first_name", "last_name", "email", "phone"]));
      return true;
    };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearNotices();
      const contact = "email" in changes() || "phone" in changes();
      if (!Object.keys(changes()).length) return say("Rien à corriger.");
      if (await save()) {
        go(`#/invitations/${encodeURIComponent(id)}`, contact
          ? "Corrections enregistrées. L'ancien lien ne fonctionne plus : renvoyez l'invitation pour envoyer le nouveau."
          : "Corrections enregistrées.");
      }
    });
    const resend = async (event) => {
      clearNotices();
      event.target.disabled = true;
      try {
        if (!(await save())) return;
        const sent = await api("POST", `/invitations/${encodeURIComponent(id)}/resend`);
        if (sent.ok) go(`#/invitations/${encodeURIComponent(id)}`, `Invitation renvoyée : nouveau lien valable jusqu'au ${when(sent.data.expires_at)}.`);
        else say(errorText(sent), "error");
      } finally {
        event.target.disabled = false;
      }
    };
    const remove = async () => {
      const sure = await confirmDialog("Supprimer l'invitation ?",
        `L'invitation de ${fullName(invitation)} disparaîtra de la liste et son lien ne pourra plus jamais être accepté.`,
        "Supprimer définitivement");
      if (!sure) return;
      const gone = await api("DELETE", `/invitations/${encodeURIComponent(id)}`);
      if (gone.ok) go("#/invitations", `Invitation de ${fullName(invitation)} supprimée.`);
      else say(errorText(gone), "error");
    };
    if (invitation.status === "expired") {
      sections.push(notice("Cette invitation a expiré (valable 14 jours après l'envoi). Renvoyez-la : un nouveau lien valable 14 jours part au patient.", "error"));
    }
    sections.push(form, h("div", { class: "actions" },
      h("button", { type: "button", onclick: resend }, "Renvoyer l'invitation"),
      h("button", { type: "button", class: "danger", onclick: remove }, "Supprimer l'invitation")));
  }

  sections.push(h("section", { class: "card", "aria-labelledby": "s-history" }, h("h2", { id: "s-history" }, "Historique"),
    history.ok ? timeline((history.data && history.data.items) || []) : notice(errorText(history), "error")));

  const linkSection = h("section", { class: "card", "aria-labelledby": "s-link" }, h("h2", { id: "s-link" }, "Lien de l'invitation"));
  if (invitation.link) {
    linkSection.append(
      h("p", { class: "small" }, `Le seul lien qui fonctionne, jusqu'au ${when(invitation.expires_at)}. À copier pour le patient, ou à lui faire scanner.`),
      copyBox("link", "Lien à copier", invitation.link, "Copier le lien"),
      h("img", { class: "qr", src: `/_local/qr?data=${encodeURIComponent(invitation.link)}`, alt: "QR code du lien de l'invitation", width: 180, height: 180 }));
  } else {
    linkSection.append(h("p", {}, accepted ? "Plus de lien : l'invitation est acceptée." : "Pas de lien valable : renvoyez l'invitation pour en créer un nouveau."));
  }
  if (invitation.help_link) {
    linkSection.append(h("h3", {}, "Le patient n'arrive pas à accepter ?"),
      copyBox("help-link", "Lien d'aide à lui envoyer", invitation.help_link, "Copier le lien d'aide"));
  } else if (!accepted) {
    linkSection.append(h("p", { class: "small" }, "Le patient n'arrive pas à accepter ? Envoyez-lui un lien d'aide expliquant comment faire."));
  }
  sections.push(linkSection);
  screen(title, ...sections);
}

function patientFacts(patient) {
  const rows = [["Prénom", patient.first_name], ["Nom", patient.last_name], ["E-mail", patient.email || "—"], ["Téléphone", patient.phone || "—"]];
  return h("dl", { class: "facts" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v || "—")]));
}

async function patientScreen(id, openAdmin = false) {
  const answer = await api("GET", `/patients/${encodeURIComponent(id)}`);
  if (!answer.ok) {
    screen("Patient introuvable", notice(errorText(answer), "error"), h("p", {}, h("a", { href: "#/invitations" }, "Retour aux invitations")));
    return;
  }
  const patient = answer.data;
  const left = patient.thread === "left";
  const panel = h("div", { id: "admin-panel", class: "card", hidden: !openAdmin });
  const toggle = h("button", { type: "button", class: "secondary", "aria-expanded": String(openAdmin), "aria-controls": "admin-panel" }, "Administratif");
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    panel.hidden = !open;
  });
  const showFacts = () => panel.replaceChildren(h("h2", {}, "Administratif"), patientFacts(patient),
    h("div", { class: "actions" }, h("button", { type: "button", onclick: edit }, "Modifier")));
  function edit() {
    const form = h("form", { novalidate: true, tabindex: "-1" }, h("h2", {}, "Modifier les informations administratives"),
      h("div", { class: "two" }, field("first_name", "Prénom", { value: patient.first_name }), field("last_name", "Nom", { value: patient.last_name })),
      field("email", "Adresse e-mail", { type: "email", value: patient.email }),
      field("phone", "Téléphone mobile", { type: "tel", value: patient.phone }),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Enregistrer"),
        h("button", { type: "button", class: "secondary", onclick: showFacts }, "Annuler")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const values = formValues(form, ["first_name", "last_name", "email", "phone"]);
      const body = {};
      for (const [key, value] of Object.entries(values)) if (value !== (patient[key] || "")) body[key] = value || null;
      if (!Object.keys(body).length) return showFacts();
      const saved = await api("PATCH", `/patients/${encodeURIComponent(id)}`, body);
      if (saved.ok) {
        flash = "Informations administratives enregistrées.";
        patientScreen(id, true);
      } else showErrors(form, saved);
    });
    panel.replaceChildren(form);
    $("input", form).focus();
  }
  showFacts();
  const leave = async () => {
    const sure = await confirmDialog("Quitter le fil patient ?",
      `Vous ne recevrez plus les messages de ${fullName(patient)} et ne pourrez plus lui écrire.`, "Quitter le fil");
    if (!sure) return;
    const done = await api("POST", `/patients/${encodeURIComponent(id)}/leave`);
    if (done.ok) { flash = "Vous avez quitté le fil de ce patient."; patientScreen(id); } else {
      $("#messages").replaceChildren(notice(errorText(done), "error"));
    }
  };
  screen(fullName(patient),
    h("div", { id: "messages" }),
    h("p", {}, h("a", { href: "#/invitations" }, "← Invitations patients"),
      patient.invitation_id ? [" · ", h("a", { href: `#/invitations/${encodeURIComponent(patient.invitation_id)}` }, "Voir l'invitation")] : null),
    h("p", {}, left ? `Vous avez quitté ce fil patient${patient.left_at ? ` le ${when(patient.left_at)}` : ""}.` : "Fil patient actif."),
    h("div", { class: "actions" }, toggle,
      left ? null : h("button", { type: "button", class: "danger", onclick: leave }, "Quitter le fil patient")),
    panel);
}

// -- the emulator's panels (local only) ------------------------------------------------------------

async function local(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
  const response = await fetch(path, init);
  return { status: response.status, ok: response.ok, data: await response.json().catch(() => null) };
}

function outboxPanel(box) {
  const emails = box.emails.map((m, n) => ({ ...m, n })).reverse().slice(0, 20);
  const sms = [...box.sms].reverse().slice(0, 20);
  const events = [...box.events].reverse().slice(0, 30);
  const linkTo = (link) => (link ? h("a", { href: link }, "Ouvrir le lien de l'invitation") : h("em", {}, "pas de lien"));
  return [
    h("h3", {}, `E-mails (${box.emails.length})`),
    emails.length ? emails.map((m) => {
      const show = h("button", { type: "button", class: "secondary" }, "Voir l'e-mail");
      const holder = h("div", {});
      show.addEventListener("click", () => {
        holder.replaceChildren(h("iframe", { class: "email", sandbox: "", title: `E-mail : ${m.subject}`, src: `/_local/console/email?n=${m.n}` }));
        show.remove();
      });
      return h("article", { class: "card outbox-email" }, h("strong", {}, m.subject), h("p", { class: "small" }, `à ${m.to} · ${when(m.at)}`),
        h("p", {}, linkTo(m.link)), h("details", {}, h("summary", {}, "Texte"), h("pre", {}, m.text)), show, holder);
    }) : h("p", {}, "Aucun e-mail."),
    h("h3", {}, `SMS (${box.sms.length})`),
    sms.length ? sms.map((m) => h("article", { class: "card outbox-sms" }, h("p", { class: "small" }, `à ${m.to} · ${when(m.at)}`),
      h("pre", {}, m.text), h("p", {}, linkTo(m.link)))) : h("p", {}, "Aucun SMS."),
    h("h3", {}, `Événements (${box.events.length})`),
    events.length ? h("ol", { class: "timeline" }, events.map((e) => h("li", {}, h("span", { class: "when" }, when(e.at)),
      h("strong", {}, e.detail_type || "?"), e.detail && e.detail.invitation_id ? h("span", { class: "small" }, ` · ${e.detail.invitation_id}`) : null)))
      : h("p", {}, "Aucun événement."),
  ];
}

function emulatorScreen() {
  const clockOut = h("p", { role: "status", id: "clock-now" });
  const clock = async (body, what) => {
    const answer = await local("POST", "/_local/clock", body);
    clockOut.textContent = answer.ok ? `${what} Heure du service : ${when(answer.data.now)}.` : "L'horloge n'a pas bougé.";
  };
  const schedulesOut = h("pre", { role: "status", id: "schedules-out" });
  const runSchedules = async (event) => {
    event.target.disabled = true;
    schedulesOut.textContent = "En cours…";
    const answer = await local("POST", "/_local/run/schedules");
    schedulesOut.textContent = `${answer.ok ? "Terminé." : "Échec."}\n${JSON.stringify(answer.data && (answer.data.results || answer.data), null, 2)}`;
    event.target.disabled = false;
  };
  const faultsOut = h("pre", { role: "status", id: "faults-out" });
  const faultForm = h("form", { novalidate: true },
    h("label", { for: "fault-target" }, "Fournisseur"),
    h("select", { id: "fault-target", name: "target" }, h("option", { value: "email" }, "E-mail (SES)"), h("option", { value: "sms" }, "SMS (SNS)"), h("option", { value: "events" }, "Événements (EventBridge)")),
    h("label", { for: "fault-kind" }, "Panne"),
    h("select", { id: "fault-kind", name: "kind" }, h("option", { value: "fail_next" }, "Faire échouer les N prochains appels"),
      h("option", { value: "delay_ms" }, "Ralentir chaque appel (millisecondes)"), h("option", { value: "rate_per_s" }, "Limiter le débit (appels par seconde)")),
    h("label", { for: "fault-value" }, "Valeur"), h("input", { id: "fault-value", name: "value", type: "number", min: "0", value: "3", inputmode: "numeric" }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Appliquer la panne"),
      h("button", { type: "button", class: "secondary", onclick: async () => show(await local("POST", "/_local/faults", { reset: true })) }, "Tout rétablir")));
  const show = (answer) => { faultsOut.textContent = answer.ok ? `Pannes actives : ${JSON.stringify(answer.data.faults || answer.data, null, 2)}` : `Refusé : ${JSON.stringify(answer.data)}`; };
  faultForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { target, kind, value } = Object.fromEntries(new FormData(faultForm));
    show(await local("POST", "/_local/faults", { target, [kind]: Number(value) }));
  });
  const box = h("div", { id: "outbox" });
  const refresh = async () => {
    const answer = await local("GET", "/_local/outbox");
    box.replaceChildren(...(answer.ok ? outboxPanel(answer.data).flat() : [notice("Boîte d'envoi illisible.", "error")]));
  };
  screen("Émulateur local",
    h("p", { class: "small" }, "Ces outils n'existent que dans ", h("code", {}, "make dev"), " : jamais déployés."),
    h("section", { class: "card", "aria-labelledby": "e-clock" }, h("h2", { id: "e-clock" }, "Horloge du service"),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => clock({ advance_seconds: 14 * DAY }, "Avancée de 14 jours.") }, "Avancer de 14 jours"),
        h("button", { type: "button", class: "secondary", onclick: () => clock({ advance_seconds: DAY }, "Avancée d'1 jour.") }, "Avancer d'1 jour"),
        h("button", { type: "button", class: "secondary", onclick: () => clock({ reset: true }, "Revenue à l'heure réelle.") }, "Revenir à l'heure réelle")),
      clockOut),
    h("section", { class: "card", "aria-labelledby": "e-jobs" }, h("h2", { id: "e-jobs" }, "Tâches planifiées"),
      h("p", { class: "small" }, "Expiration des invitations et balayage de l'outbox, une fois, maintenant."),
      h("button", { type: "button", onclick: runSchedules }, "Lancer les tâches planifiées"), schedulesOut),
    h("section", { class: "card", "aria-labelledby": "e-faults" }, h("h2", { id: "e-faults" }, "Pannes des fournisseurs"), faultForm, faultsOut),
    h("section", { class: "card", "aria-labelledby": "e-outbox" }, h("h2", { id: "e-outbox" }, "Boîte d'envoi"),
      h("p", { class: "small" }, "Ce que le service a « envoyé » : e-mails, SMS et événements, les plus récents d'abord."),
      h("button", { type: "button", class: "secondary", onclick: refresh }, "Actualiser"), box));
  return refresh();
}

// -- routing ------------------------------------------------------------------------------------

async function render() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const signedIn = Boolean(session.token);
  const menu = $("#menu");
  menu.hidden = !signedIn;
  $("#who").textContent = signedIn ? `${session.name} (${session.sub})` : "";
  for (const link of menu.querySelectorAll("a")) {
    const current = hash.startsWith(`/${link.dataset.nav}`);
    if (current) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  try {
    const parts = hash.split("/").filter(Boolean).map(decodeURIComponent);
    if (!signedIn) signInScreen();
    else if (parts[0] === "invitations" && parts[1]) await invitationScreen(parts[1]);
    else if (parts[0] === "nouvelle") newScreen();
    else if (parts[0] === "patients" && parts[1]) await patientScreen(parts[1]);
    else if (parts[0] === "emulateur") await emulatorScreen();
    else await listScreen();
  } catch (error) {
    if (!(error instanceof SignedOut)) screen("Erreur", notice(`La console n'a pas pu joindre le service (${error.message}).`, "error"));
  }
}

async function start() {
  $("#signout").addEventListener("click", () => { session.clear(); list.q = ""; go("#/", "Déconnecté·e."); });
  const params = new URLSearchParams(location.search);
  if (params.get("clinician")) {
    const answer = await signIn(params.get("clinician"), params.get("name") || params.get("clinician"));
    history.replaceState(null, "", `/${location.hash || "#/invitations"}`);
    if (answer.ok) flash = `Connecté·e en tant que ${session.name}.`;
    else flash = null;
  }
  window.addEventListener("hashchange", render);
  await render();
}

start();
