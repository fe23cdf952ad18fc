import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { BotMetrics } from "../../src/metrics/bot-metrics.js";
import { metricFamilies } from "../support/prometheus.js";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

interface Service {
  environment?: Record<string, string>;
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
const compose = parse(read("docker-compose.yml"), { merge: true }) as { services: Record<string, Service> };
const bot = compose.services.bot!;

describe("docker-compose.yml and the Dockerfile", () => {
  it("hands the bot every variable of .env.example, empty when unset", () => {
    const documented = [...read(".env.example").matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
    expect(documented.length).toBeGreaterThan(40);
    for (const name of documented) expect(bot.environment?.[name], name).toMatch(new RegExp(`^\\$\\{${name}:-`));
  });

  it("lets .env point the bot at another Ollama or Redis, and keeps the health port", () => {
    expect(bot.environment?.OLLAMA_HOST).toBe("${OLLAMA_HOST:-http://ollama:11434}");
    expect(bot.environment?.REDIS_URL).toBe("${REDIS_URL:-redis://redis:6379}");
    expect(bot.environment?.PARLEY_HTTP_PORT).toBe("${PARLEY_HTTP_PORT:-8081}");
    expect(compose.services["ollama-pull"]?.environment?.OLLAMA_HOST).toBe(bot.environment?.OLLAMA_HOST);
  });

  it("gives answers in flight more time than the bot's own shutdown grace (20 s)", () => {
    expect(Number.parseInt(bot.stop_grace_period ?? "10s", 10)).toBeGreaterThan(20);
  });

  it("starts the bot after its settings check, the model pull and a healthy Redis, with healthchecks on Redis and Ollama", () => {
    expect(bot.depends_on).toEqual({
      "bot-check": { condition: "service_completed_successfully" },
      redis: { condition: "service_healthy" },
      "ollama-pull": { condition: "service_completed_successfully" },
    });
    expect(compose.services.redis?.healthcheck?.test).toContain("ping");
    expect(compose.services.ollama?.healthcheck?.test).toEqual(["CMD", "ollama", "list"]);
  });

  it("checks the bot's settings once, with the bot's own environment, and never restarts the check", () => {
    const check = compose.services["bot-check"] as Service & { restart?: string; command?: string[] };
    expect(check.environment).toEqual(bot.environment);
    expect(check.restart).toBe("no");
    expect(check.command).toEqual(["/app/dist/src/cli/main.js", "check"]);
  });

  it("runs the built bot with node from an image pinned by digest, as the node user, with a HEALTHCHECK", () => {
    const dockerfile = read("Dockerfile");
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:22-bookworm-slim@sha256:[0-9a-f]{64}$/m);
    expect(dockerfile.match(/^FROM \$\{NODE_IMAGE\}/gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node"\]\nCMD \["\/app\/dist\/src\/main\.js"\]$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
  });

  it("monitoring profile: Prometheus scrapes the bot's health port, Grafana's dashboard asks only for metrics the bot exports", async () => {
    const monitoring = compose.services as Record<string, Service & { profiles?: string[] }>;
    expect(monitoring.prometheus?.profiles).toEqual(["monitoring"]);
    expect(monitoring.grafana?.profiles).toEqual(["monitoring"]);
    expect(bot.environment?.PARLEY_HTTP_PORT).toBe("${PARLEY_HTTP_PORT:-8081}");
    const scrape = parse(read("deploy/monitoring/prometheus.yml")) as { scrape_configs: { metrics_path: string; dns_sd_configs: { names: string[]; port: number }[] }[] };
    expect(scrape.scrape_configs[0]).toMatchObject({ metrics_path: "/metrics", dns_sd_configs: [{ names: ["bot", "bot-replica"], port: 8081 }] });

    const datasource = parse(read("deploy/monitoring/grafana/provisioning/datasources/prometheus.yml")) as { datasources: { uid: string }[] };
    const dashboard = JSON.parse(read("deploy/monitoring/grafana/dashboards/parley.json")) as { panels: { datasource?: { uid: string }; targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(10);
    for (const panel of dashboard.panels.filter((p) => p.targets)) expect(panel.datasource?.uid).toBe(datasource.datasources[0]!.uid);
    // A histogram is asked for through its _bucket series; the scrape declares the family.
    const asked = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:parley|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ""))));
    const exported = new Set(metricFamilies(await new BotMetrics().scrape()));
    for (const name of asked) expect(exported, name).toContain(name);
    for (const name of exported) if (name.startsWith("parley_")) expect(asked, `${name} is on no panel`).toContain(name);
  });

  it("runs two more replicas behind nginx in the replicas profile, with the bot's settings but no Discord", () => {
    const replica = compose.services["bot-replica"] as Service & { profiles?: string[]; deploy?: { replicas: number } };
    expect(replica.profiles).toEqual(["replicas"]);
    expect(replica.deploy?.replicas).toBe(2);
    expect(replica.environment).toEqual({ ...bot.environment, DISCORD_TOKEN: "" });
    const nginx = read("deploy/webhook-proxy/nginx.conf");
    expect(nginx).toMatch(/server bot:8080 resolve;\n\s*server bot-replica:8080 resolve;/);
    // A replica that is stopping answers 503: the update goes to another one.
    expect(nginx).toMatch(/proxy_next_upstream [^;]*http_503[^;]*non_idempotent;/);
  });
});
