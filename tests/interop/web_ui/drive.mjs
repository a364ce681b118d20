// Drives Debian's chromium (headless, through playwright-core) over dcmdisc's pages for
// tests/interop/test_web_ui.py. The Python test runs the server and the DICOM senders; this
// script clicks and reads the pages. They talk over stdio: the script prints
// `WAIT <step> <json>` and blocks until the test answers one line of JSON on stdin (its
// result of that step). Every wait is bounded; a failed check throws, printing `FAIL ...`,
// and the process exits non-zero. Screenshots go to $SCREENSHOTS.
//
//   BASE=http://127.0.0.1:PORT SCREENSHOTS=dir PATIENT='WEB^UI' node drive.mjs

import { chromium } from "playwright-core";
import { createInterface } from "node:readline";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const BASE = process.env.BASE;
const SHOTS = process.env.SCREENSHOTS;
const PATIENT = process.env.PATIENT;
const STEP_MS = 60000;
mkdirSync(SHOTS, { recursive: true });

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function wait(step, data = {}) {
  console.log(`WAIT ${step} ${JSON.stringify(data)}`);
  const { value, done } = await lines.next();
  if (done) throw new Error(`the test went away at ${step}`);
  return JSON.parse(value);
}
function check(ok, what) {
  if (!ok) throw new Error(what);
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
});
// Problems any page shows: console errors, uncaught exceptions, requests off our origin.
const problems = [];
let outage = false;
const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
context.on("request", (r) => {
  if (!r.url().startsWith(BASE + "/")) problems.push(`request off origin: ${r.url()}`);
});
async function open(path) {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on("console", (m) => {
    if (m.type() === "error" && !outage) problems.push(`console on ${path}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`exception on ${path}: ${e.message}`));
  await page.goto(BASE + path);
  await page.waitForSelector('#live-status[data-state="live"]');
  // A mark that a reload would lose: the page must change without one.
  await page.evaluate(() => { window.__noReload = true; });
  return page;
}
async function notReloaded(page, what) {
  check(await page.evaluate(() => window.__noReload === true), `${what}: the page was reloaded`);
}
async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}
const rowOf = (page, name) =>
  page.locator("#patient-list tr[data-collection]", { hasText: name });

try {
  // 1. A patient appears on the Patients page, and its association on the dashboard, while
  //    the modality is still sending.
  const dash = await open("/");
  const patients = await open("/patients");
  check((await rowOf(patients, PATIENT).count()) === 0, "the patient is there before it was sent");
  await wait("hold-association-open");
  await rowOf(patients, PATIENT).waitFor();
  await dash.locator("#associations tr[data-assoc]", { hasText: "HOLDER" }).waitFor();
  await notReloaded(patients, "patients");
  await notReloaded(dash, "dashboard");
  await shot(dash, "dashboard-receiving");
  const sent = await wait("release-and-send-the-rest");
  await patients.waitForFunction(
    ([name, n]) => [...document.querySelectorAll("#patient-list tr[data-collection]")]
      .some((tr) => tr.textContent.includes(name) && tr.children[4].textContent.trim() === String(n)),
    [PATIENT, sent.instances]);
  await notReloaded(patients, "patients");
  await shot(patients, "patients");

  // 2. Pause the burner from the Burners page, so the job to come waits at it.
  const burners = await open("/burners");
  await burners.getByRole("button", { name: "Pause" }).click();
  await burners.waitForSelector('[data-burner-state="sim"]:text("paused")');
  await shot(burners, "burners-paused");
  // The dashboard, open all along, names the action without a reload.
  await dash.locator("#alerts li.alert", { hasText: "resume it" }).waitFor();
  await notReloaded(dash, "dashboard");
  await shot(dash, "dashboard-alert");

  // 3. Make disc: the plan first, then queued; its page follows the job.
  const row = rowOf(patients, PATIENT);
  await row.locator('input[name="copies"]').fill("2");
  await row.getByRole("button", { name: "Plan disc…" }).click();
  await patients.waitForURL(/\/patients\/\d+\/disc/);
  const planPath = new URL(patients.url()).pathname + new URL(patients.url()).search;
  const plan = (await patients.locator("#plan-line").textContent()).trim();
  check(/^2 × 1 CD-R \(2 discs in all\), [\d.]+ [kMG]?B a copy$/.test(plan), `plan: ${plan}`);
  await shot(patients, "make-disc-plan");
  await patients.locator("#queue-it").click();
  await patients.waitForURL(/\/jobs\/\d+$/);
  const job = patients;
  const jobId = job.url().match(/\/jobs\/(\d+)$/)[1];
  await job.waitForSelector('#live-status[data-state="live"]');
  await job.evaluate(() => { window.__noReload = true; });
  // Held at the paused burner: it cannot be done yet.
  const first = (await job.locator("#job-state").textContent()).trim();
  check(first !== "done", `job ${jobId} done while its burner is paused`);
  // Record every state and progress value the page shows, until done.
  await job.evaluate(() => {
    window.__seen = { states: [], values: [] };
    const look = () => {
      const s = document.getElementById("job-state");
      const p = document.querySelector("[data-job-progress]");
      if (s && window.__seen.states.at(-1) !== s.textContent) window.__seen.states.push(s.textContent);
      if (p && window.__seen.values.at(-1) !== p.value) window.__seen.values.push(p.value);
    };
    look();
    window.__look = setInterval(look, 50);
  });
  // Composed, imaged, validated: then held in `burning` at the paused burner.
  await job.waitForFunction(() => window.__seen.states.at(-1) === "burning");
  await shot(job, "job-held-at-paused-burner");
  // Resume from the Burners page (another tab): the job page moves by itself.
  await burners.getByRole("button", { name: "Resume" }).click();
  await burners.waitForSelector('[data-burner-state="sim"]:text("ready")');
  await job.waitForFunction(() => window.__seen.states.at(-1) === "done", null,
                            { timeout: 120000 });
  await notReloaded(job, "job page");
  const seen = await job.evaluate(() => { clearInterval(window.__look); return window.__seen; });
  check(seen.states.length >= 2, `states seen: ${seen.states}`);
  check(seen.values.at(-1) === 1000 && seen.values.length >= 2, `progress seen: ${seen.values}`);
  // The first disc of the stack is written: a REJECT with its reason, then two burned.
  await job.locator("table.discs tr.rejected").first().waitFor();
  const reject = (await job.locator("table.discs tr.rejected").first().textContent());
  check(/REJECT/.test(reject) && /written/.test(reject), `reject row: ${reject}`);
  check((await job.locator("table.discs tr.burned").count()) === 2, "two burned discs");
  await shot(job, "job-done");

  // 4. A lost event stream reconnects and resynchronises: the stream is cut (and kept down
  //    by refusing /api/events) while another process cancels a queued job; when it comes
  //    back, the page shows the cancel without a reload.
  await burners.getByRole("button", { name: "Pause" }).click();
  await burners.waitForSelector('[data-burner-state="sim"]:text("paused")');
  const second = await wait("queue-a-second-job");
  const jobs = await open("/jobs");
  const state2 = jobs.locator(`[data-job-state="${second.job}"]`);
  await state2.waitFor();
  check((await state2.textContent()).trim() !== "cancelled", "second job cancelled too early");
  const before = await jobs.evaluate(() => Number(document.body.dataset.streamConnects));
  outage = true;
  await jobs.route("**/api/events*", (route) => route.abort());
  await jobs.evaluate(() => window.dcmdisc.dropStream());
  await jobs.waitForSelector('#live-status[data-state="lost"]');
  await wait("cancel-it-while-the-stream-is-down", { job: second.job });
  await shot(jobs, "jobs-stream-lost");
  await jobs.unroute("**/api/events*");
  await jobs.waitForFunction((n) => Number(document.body.dataset.streamConnects) > n, before);
  outage = false;
  await jobs.waitForSelector(`[data-job-state="${second.job}"]:text("cancelled")`);
  await jobs.waitForSelector('#live-status[data-state="live"]');
  await notReloaded(jobs, "jobs");
  await shot(jobs, "jobs");
  await burners.getByRole("button", { name: "Resume" }).click();
  await burners.waitForSelector('[data-burner-state="sim"]:text("ready")');
  await shot(burners, "burners");

  // 5. The other pages, for the reviewer.
  for (const [path, name] of [["/", "dashboard"], ["/log", "store-log"],
                              ["/log?status=failure", "store-log-failures"],
                              ["/remotes", "remote-aes"], ["/config", "configuration"]]) {
    const p = await open(path);
    await shot(p, name);
    await p.close();
  }
  // 6. Every page at a laptop's 1366×768 and a tablet's 800×1280: a screenshot each, and
  //    what a keyboard or screen reader user needs: one h1, every form control labelled,
  //    every button named, and Tab reaching the page's first action in document order.
  const everyPage = [["/", "dashboard"], ["/patients", "patients"], [planPath, "make-disc"],
                     ["/jobs", "jobs"], [`/jobs/${jobId}`, "job"], ["/burners", "burners"],
                     ["/log", "store-log"], ["/remotes", "remote-aes"], ["/config", "configuration"]];
  for (const [vw, vh, vp] of [[1366, 768, "1366x768"], [800, 1280, "tablet-800x1280"]]) {
    for (const [path, name] of everyPage) {
      const p = await open(path);
      await p.setViewportSize({ width: vw, height: vh });
      const a11y = await p.evaluate(() => {
        const bad = [];
        const h1 = document.querySelectorAll("h1").length;
        if (h1 !== 1) bad.push(`${h1} h1`);
        for (const el of document.querySelectorAll("input, select, textarea")) {
          if (el.type === "hidden") continue;
          const named = el.labels.length > 0 || el.getAttribute("aria-label") ||
                        el.getAttribute("aria-labelledby");
          if (!named) bad.push(`unlabelled ${el.tagName.toLowerCase()} name=${el.name}`);
        }
        for (const b of document.querySelectorAll("button")) {
          if (!(b.textContent.trim() || b.getAttribute("aria-label"))) bad.push("unnamed button");
        }
        for (const el of document.querySelectorAll("[tabindex]")) {
          if (Number(el.getAttribute("tabindex")) > 0) bad.push("tabindex > 0 reorders focus");
        }
        // Wider than the viewport: the tablet would scroll sideways.
        const over = document.documentElement.scrollWidth - window.innerWidth;
        return { bad, over };
      });
      check(a11y.bad.length === 0, `${path} at ${vp}: ${a11y.bad.join("; ")}`);
      // Tab from the top: the first action of <main> (a button, or the first form control)
      // is reached, after no more stops than the focusable elements before it.
      const target = await p.evaluate(() => {
        const focusable = [...document.querySelectorAll(
          "a[href], button, input:not([type=hidden]), select, textarea")]
          .filter((el) => !el.disabled && el.offsetParent !== null);
        const main = document.querySelector("main");
        const first = focusable.findIndex((el) => main.contains(el) &&
          (el.tagName === "BUTTON" || el.tagName === "INPUT" || el.tagName === "SELECT"));
        if (first < 0) return null;
        // A key, not a mark on the element: a live refresh may swap the region meanwhile.
        const el = focusable[first];
        window.__actionKey = (e) => [e.tagName, e.name || "", e.textContent.trim(),
          e.closest("form")?.getAttribute("action") || ""].join("|");
        window.__firstAction = window.__actionKey(el);
        return first + 1;
      });
      if (target !== null) {
        await p.evaluate(() => { if (document.activeElement) document.activeElement.blur(); });
        let reached = false;
        for (let i = 0; i < target + 2 && !reached; i++) {
          await p.keyboard.press("Tab");
          reached = await p.evaluate(() => document.activeElement !== document.body &&
            window.__actionKey(document.activeElement) === window.__firstAction);
        }
        check(reached, `${path} at ${vp}: Tab does not reach the first action within ${target + 2} stops`);
      }
      await shot(p, `${name}-${vp}`);
      await p.close();
    }
  }
  check(problems.length === 0, `problems: ${problems.join("; ")}`);
  console.log(`DONE ${JSON.stringify({ job: Number(jobId), seen })}`);
  await browser.close();
} catch (e) {
  console.log(`FAIL ${e.stack || e}`);
  if (problems.length) console.log(`PROBLEMS ${problems.join("; ")}`);
  await browser.close();
  process.exit(1);
}
