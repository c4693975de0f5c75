// The claims handler's review page: upload, review each document beside its fields, save.
// Every value from the server is put in the page as text (never as HTML).
"use strict";

(() => {
  const labels = JSON.parse(document.getElementById("labels").textContent);
  const text = labels.text;
  const GROUPS = ["invoice", "address", "bank_details"];
  const AMOUNTS = new Set(["total_excl_tax", "vat_amount", "vat_rate", "total_incl_tax"]);
  const byId = (id) => document.getElementById(id);
  const apiKey = byId("api-key");
  const KEY_STORE = "usine-api-key";

  apiKey.value = sessionStorage.getItem(KEY_STORE) || "";
  apiKey.addEventListener("input", () => sessionStorage.setItem(KEY_STORE, apiKey.value));

  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    node.append(...children);
    return node;
  }

  function contractBase() {
    const part = (id) => encodeURIComponent(byId(id).value.trim());
    return `/1.0.0/entities/${part("uom-code")}/customers/${part("customer-id")}/contracts/${part("contract-id")}`;
  }

  function withKey(headers = {}) {
    const key = apiKey.value.trim();
    return key ? { ...headers, "X-API-Key": key } : headers;
  }

  async function call(path, options = {}) {
    const response = await fetch(contractBase() + path, { ...options, headers: withKey(options.headers) });
    const type = response.headers.get("content-type") || "";
    const body = type.includes("json") ? await response.json() : await response.blob();
    return { ok: response.ok, status: response.status, body };
  }

  function problemText(problem) {
    const where = problem.file ? `${problem.file}: ` : "";
    return `${where}${problem.title || text.error} (${problem.status}) — ${problem.detail || ""}`;
  }

  function showProblems(problems) {
    const box = byId("problems");
    box.replaceChildren(...problems.map((p) => element("p", { class: "problem", text: problemText(p) })));
  }

  // --- Upload -----------------------------------------------------------------------------
  const drop = byId("drop");
  const fileInput = byId("files");
  let dropped = null;
  const chosenFiles = () => (dropped && dropped.length ? dropped : Array.from(fileInput.files));
  // The file input names what was chosen with it; dropped files are named beside it.
  const showDropped = () => { byId("chosen").textContent = dropped.map((f) => f.name).join(", "); };
  fileInput.addEventListener("change", () => { dropped = null; byId("chosen").textContent = ""; });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    dropped = Array.from(event.dataTransfer.files);
    showDropped();
  });

  byId("upload").addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = chosenFiles();
    if (!files.length) { fileInput.focus(); return; }
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    const status = byId("upload-status");
    status.textContent = text.extracting;
    showProblems([]);
    const answer = await call("/claim_files_extraction", { method: "POST", body: form });
    status.textContent = "";
    if (!answer.ok) {
      showProblems(answer.body.files || [answer.body]);
      return;
    }
    showProblems(answer.body.problems);
    const documents = byId("documents");
    documents.replaceChildren(...answer.body.extractions.map(renderDocument));
    const first = documents.querySelector(".fields input");
    if (first) first.focus();
    loadClaims();
  });

  byId("load-claims").addEventListener("click", loadClaims);

  // --- One document: its pages beside its fields -------------------------------------------
  function renderDocument(item) {
    const extraction = item.extraction;
    const section = element("section", { class: "document", "data-extraction-id": item.extraction_id });
    const state = extraction.status.state;
    section.append(element("h2", { text: `${item.file} — ${state}` }));
    const pages = element("div", { class: "pages" });
    for (let number = 1; number <= extraction.pages; number += 1) {
      const image = element("img", { alt: `${text.page} ${number}` });
      const box = element("div", { class: "bbox", hidden: "" });
      pages.append(element("div", { class: "page", "data-page": String(number) }, image, box));
      call(`/extractions/${item.extraction_id}/pages/${number}`).then((answer) => {
        if (answer.ok) image.src = URL.createObjectURL(answer.body);
      });
    }
    section.append(pages, renderFields(item, pages));
    return section;
  }

  function isFlagged(field) {
    return field.failed_checks.length > 0 || (field.value !== null && field.confidence < labels.low_confidence);
  }

  function renderFields(item, pages) {
    const form = element("form", { class: "fields", novalidate: "" });
    const checkFirst = element("fieldset", { class: "check-first" }, element("legend", { text: text.check_first }));
    const flagged = [];
    const groups = GROUPS.map((group) => {
      const set = element("fieldset", { "data-group": group }, element("legend", { text: labels.fields[group] }));
      for (const [name, field] of Object.entries(item.extraction[group])) {
        if (name === "line_items") continue;
        const row = renderField(item.extraction_id, `${group}.${name}`, field, pages);
        if (isFlagged(field)) flagged.push([field.confidence, row]);
        else set.append(row);
      }
      return set;
    });
    flagged.sort((a, b) => a[0] - b[0]);
    if (flagged.length) {
      checkFirst.append(...flagged.map(([, row]) => row));
      form.append(checkFirst);
    }
    form.append(...groups);
    const save = element("button", { type: "submit", class: "save", text: text.save });
    const status = element("output", { class: "save-status", role: "status" });
    form.append(save, status);
    form.addEventListener("keydown", (event) => acceptOnEnter(event, form, save));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      saveClaim(item, form, status);
    });
    return form;
  }

  function renderField(extractionId, path, field, pages) {
    const id = `f-${extractionId}-${path}`;
    const classes = ["field"];
    if (isFlagged(field)) classes.push("flagged");
    if (field.failed_checks.length) classes.push("failed");
    const row = element("div", { class: classes.join(" "), "data-path": path });
    const input = element("input", { id, name: path, "data-extracted": field.value ?? "" });
    input.value = field.value ?? "";
    if (AMOUNTS.has(path.split(".")[1])) input.setAttribute("inputmode", "decimal");
    if (path === "invoice.date") input.setAttribute("placeholder", "AAAA-MM-JJ / YYYY-MM-DD");
    const confidence = field.value === null ? "—" : `${Math.round(field.confidence * 100)} %`;
    row.append(
      element("label", { for: id, text: labels.fields[path] || path }),
      input,
      element("span", { class: "confidence", title: text.confidence, text: confidence }),
    );
    if (field.failed_checks.length) {
      row.append(element("span", { class: "checks", text: field.failed_checks.map((c) => text[c] || c).join(", ") }));
    }
    const show = () => showBox(pages, field, row);
    input.addEventListener("focus", show);
    row.addEventListener("click", show);
    return row;
  }

  function showBox(pages, field, row) {
    for (const current of document.querySelectorAll(".field.current")) current.classList.remove("current");
    row.classList.add("current");
    for (const box of pages.querySelectorAll(".bbox")) box.hidden = true;
    if (!field.page || !field.bbox) return;
    const page = pages.querySelector(`.page[data-page="${field.page}"]`);
    if (!page) return;
    const box = page.querySelector(".bbox");
    const b = field.bbox;
    Object.assign(box.style, {
      left: `${b.x0 * 100}%`, top: `${b.y0 * 100}%`,
      width: `${(b.x1 - b.x0) * 100}%`, height: `${(b.y1 - b.y0) * 100}%`,
    });
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  function acceptOnEnter(event, form, save) {
    if (event.key !== "Enter" || event.target.tagName !== "INPUT") return;
    event.preventDefault();
    event.target.closest(".field").classList.add("accepted");
    const inputs = Array.from(form.querySelectorAll("input"));
    const next = inputs[inputs.indexOf(event.target) + 1];
    (next || save).focus();
  }

  // --- Save and list --------------------------------------------------------------------------
  function plain(path, raw) {
    const value = raw.trim();
    if (!value) return null;
    if (AMOUNTS.has(path.split(".")[1])) {
      return value.replace(/[\s\u00a0\u202f€%]/g, "").replace(",", ".");
    }
    return value;
  }

  function lineItems(extraction) {
    return extraction.invoice.line_items.map((line) =>
      Object.fromEntries(Object.entries(line).map(([name, field]) => [name, field.value])));
  }

  async function saveClaim(item, form, status) {
    const body = { extraction_ids: [item.extraction_id], invoice: {}, address: {}, bank_details: {} };
    for (const input of form.querySelectorAll("input")) {
      const [group, name] = input.name.split(".");
      body[group][name] = plain(input.name, input.value);
    }
    body.invoice.line_items = lineItems(item.extraction);
    const answer = await call("/save_extract", {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!answer.ok) {
      status.textContent = problemText(answer.body);
      status.classList.add("problem");
      return;
    }
    status.classList.remove("problem");
    const share = answer.body.corrections.used_as_is;
    status.textContent = `${text.saved} — ${text.used_as_is}: ${share === null ? "—" : Math.round(share * 100) + " %"}`;
    loadClaims();
  }

  async function loadClaims() {
    const answer = await call("/claims");
    const body = byId("claims").tBodies[0];
    if (!answer.ok) { showProblems([answer.body]); return; }
    body.replaceChildren(...answer.body.map((claim) => {
      const share = claim.corrections.used_as_is;
      const changed = claim.corrections.changes.map((c) => labels.fields[c.field] || c.field).join(", ");
      return element("tr", { "data-claim-id": claim.id },
        element("td", { text: new Date(claim.saved_at).toLocaleString(document.documentElement.lang) }),
        element("td", { text: claim.values.invoice.number ?? "—" }),
        element("td", { text: claim.values.invoice.total_incl_tax ?? "—" }),
        element("td", { text: share === null ? "—" : `${Math.round(share * 100)} %` }),
        element("td", { text: changed }));
    }));
    byId("no-claims").hidden = answer.body.length > 0;
  }
})();
