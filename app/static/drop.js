// The file-drop page (/s/<token> of an upload-only link; not part of the web app), better with
// JavaScript: each chosen file is sent on its own with a progress bar, its result shown next to it, and nothing is
// lost when one is refused (the others still go). Without JavaScript the form posts as it is.

// The page is in English (not the web app's language catalogue): sizes as the page says them.
function humanSize(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

(function () {
  const form = document.querySelector("form.drop");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  const input = form.querySelector("input[type=file]");
  const list = document.querySelector(".drop-progress");
  const summary = document.querySelector(".drop-summary");
  const PARALLEL = 3;

  const MESSAGES = {
    payload_too_large: "Larger than this link takes.",
    link_full: "This link takes no more files.",
    quota_exceeded: "The person who shared this link has no storage left for it.",
    insufficient_storage: "The person who shared this link has no storage left for it.",
    too_many_requests: "Too many uploads from here; wait a minute and try again.",
  };

  function row(file) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "drop-name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = file.size || 1;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    const status = document.createElement("span");
    status.className = "meta drop-status";
    status.textContent = "waiting";
    li.append(name, bar, status);
    list.append(li);
    return { li, bar, status };
  }

  function send(file, shown) {
    return new Promise((resolve) => {
      const body = new FormData();
      body.append("file", file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.upload);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) { shown.bar.max = event.total; shown.bar.value = event.loaded; }
        shown.status.textContent = "sending";
      };
      xhr.onload = () => {
        let answer = {};
        try { answer = JSON.parse(xhr.responseText); } catch (err) { /* not JSON: a proxy's page */ }
        if (xhr.status === 201) {
          shown.bar.value = shown.bar.max;
          shown.status.textContent = "uploaded · " + humanSize(file.size);
          shown.li.classList.add("done");
          resolve(true);
        } else {
          const code = answer.error && answer.error.code;
          shown.status.textContent = MESSAGES[code] || (answer.error && answer.error.message) || "The upload did not work.";
          shown.li.classList.add("error");
          resolve(false);
        }
      };
      xhr.onerror = () => {
        shown.status.textContent = "The connection failed; try this file again.";
        shown.li.classList.add("error");
        resolve(false);
      };
      xhr.send(body);
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = Array.from(input.files);
    if (!files.length) return;
    const button = form.querySelector("button");
    button.disabled = true;
    summary.textContent = "Uploading " + files.length + (files.length === 1 ? " file…" : " files…");
    summary.className = "drop-summary meta";
    const queue = files.map((file) => [file, row(file)]);
    let done = 0, failed = 0;
    async function worker() {
      while (queue.length) {
        const [file, shown] = queue.shift();
        if (await send(file, shown)) done += 1; else failed += 1;
      }
    }
    await Promise.all(Array.from({ length: Math.min(PARALLEL, files.length) }, worker));
    summary.textContent = "Uploaded " + done + (done === 1 ? " file" : " files") +
      (failed ? "; " + failed + " could not be uploaded (see below)." : ". Thank you.");
    summary.className = "drop-summary " + (failed ? "error" : "done");
    button.disabled = false;
    form.reset();
  });
})();
