// The page: an image in (drop, paste, pick), the LaTeX out, a live KaTeX preview of the edited text.
"use strict";

const MAX_BYTES = 10 * 1024 * 1024; // the server refuses larger uploads too
const $ = (id) => document.getElementById(id);
const readings = []; // this session's, newest first

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function render() {
  const latex = $("latex").value;
  $("copy").disabled = latex === "";
  katex.render(latex, $("preview"), { displayMode: true, throwOnError: false });
}

function useLatex(latex) {
  $("latex").value = latex;
  render();
}

function listItem(latex, extra) {
  const li = document.createElement("li");
  li.append(...extra, document.createTextNode(latex));
  li.title = "use this one";
  li.addEventListener("click", () => useLatex(latex));
  return li;
}

function showAlternatives(reading) {
  const options = [{ latex: reading.latex, score: reading.score }, ...reading.alternatives];
  $("alternatives").replaceChildren(...options.map((o) => {
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = `score ${o.score.toFixed(3)}`;
    const li = listItem(o.latex, []);
    li.append(score);
    return li;
  }));
}

function remember(imageUrl, latex) {
  readings.unshift({ imageUrl, latex });
  $("history").replaceChildren(...readings.map((h) => {
    const img = document.createElement("img");
    img.src = h.imageUrl;
    img.alt = "";
    return listItem(h.latex, [img]);
  }));
}

async function read(file) {
  if (!file) return;
  if (file.type && !file.type.startsWith("image/")) {
    setStatus("That is not an image: drop, paste or pick a PNG, JPEG, GIF, WebP or BMP file.", true);
    return;
  }
  if (file.size > MAX_BYTES) {
    setStatus(`The image is ${(file.size / 2 ** 20).toFixed(1)} MB; at most 10 MB, please.`, true);
    return;
  }
  const imageUrl = URL.createObjectURL(file);
  $("image").src = imageUrl;
  $("image").hidden = false;
  setStatus("Reading…");
  const form = new FormData();
  form.append("file", file);
  try {
    const rerank = $("rerank").checked ? "&rerank=true" : "";
    const response = await fetch(`/api/predict?beam=5${rerank}`, { method: "POST", body: form });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      $("image").hidden = true;
      setStatus(body.detail || `The server answered ${response.status}.`, true);
      return;
    }
    useLatex(body.latex);
    showAlternatives(body);
    remember(imageUrl, body.latex);
    setStatus(`Read in ${body.seconds.toFixed(2)} s.`);
  } catch (error) {
    setStatus(`Could not reach the server (${error.message}). Is img2latex serve still running?`, true);
  }
}

function init() {
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    read(e.dataTransfer.files[0]);
  });
  document.addEventListener("paste", (e) => {
    const item = [...e.clipboardData.items].find((i) => i.type.startsWith("image/"));
    if (item) {
      e.preventDefault();
      read(item.getAsFile());
    }
  });
  $("file").addEventListener("change", (e) => read(e.target.files[0]));
  $("latex").addEventListener("input", render);
  $("copy").addEventListener("click", async () => {
    await navigator.clipboard.writeText($("latex").value);
    setStatus("Copied.");
  });
}

init();
