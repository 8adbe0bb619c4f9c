"""Checks the deployment contract of rendered inctrl-serve manifests, beyond what schemas and kube-score see.

Usage: python check_renders.py --adapter ADAPTER_VALUES RENDER.yaml...
Prints one line per render and exits 1 if any rule is broken. Rules (from the chart's design, k8s/README.md):
restricted securityContext on pod and container; requests and limits for cpu, memory and ephemeral-storage;
no replicas field on a Deployment an HPA scales; every HPA pod metric served by a Prometheus adapter rule;
probes on the management port; grace period >= preStop + drain timeout + 5 s; no secret value in the render;
management port kept off the public Services; a headless governing Service for each StatefulSet; a configured model
repository is mounted where INCTRL_MODELS_REPOSITORY points (read-only; an emptyDir filled by an init container), or
for s3:// has a writable cache volume, credentials from a Secret and a NetworkPolicy egress rule to the storage's port.
"""

import argparse
import re
import sys
from urllib.parse import urlparse

import yaml

SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|ADMIN_KEY|API_KEY)", re.IGNORECASE)
PROBES = {"startupProbe": "/q/health/started", "readinessProbe": "/q/health/ready", "livenessProbe": "/q/health/live"}
RESOURCES = ("cpu", "memory", "ephemeral-storage")


def seconds(text):
    match = re.fullmatch(r"(\d+)s", str(text))
    if not match:
        raise ValueError(f"INCTRL_DRAIN_TIMEOUT {text!r} is not '<n>s'")
    return int(match.group(1))


def check_pod(name, pod, problems):
    psc = pod.get("securityContext") or {}
    if psc.get("runAsNonRoot") is not True or int(psc.get("runAsUser", 0)) < 1000:
        problems.append(f"{name}: pod securityContext must set runAsNonRoot and runAsUser >= 1000")
    if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append(f"{name}: pod seccompProfile must be RuntimeDefault")
    for c in pod.get("containers", []) + pod.get("initContainers", []):
        where = f"{name}/{c['name']}"
        sc = c.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False or sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: needs allowPrivilegeEscalation false and readOnlyRootFilesystem true")
        if sc.get("runAsNonRoot") is not True or "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{where}: needs runAsNonRoot true and capabilities.drop [ALL]")
        if (sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: container seccompProfile must be RuntimeDefault")
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            missing = [r for r in RESOURCES if r not in (res.get(kind) or {})]
            if missing:
                problems.append(f"{where}: resources.{kind} lacks {', '.join(missing)}")
        for env in c.get("env", []):
            if SECRET_NAME.search(env["name"]) and "value" in env:
                problems.append(f"{where}: {env['name']} carries a literal value; use a secretKeyRef")


def check_server(dep, configmaps, problems):
    name = dep["metadata"]["name"]
    pod = dep["spec"]["template"]["spec"]
    server = next(c for c in pod["containers"] if c["name"] == "server")
    ports = {p["name"]: p["containerPort"] for p in server["ports"]}
    if ports != {"http": 8080, "grpc": 9000, "management": 9090}:
        problems.append(f"{name}: container ports must be http 8080, grpc 9000, management 9090 (got {ports})")
    for probe, path in PROBES.items():
        get = (server.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != path or get.get("port") not in ("management", 9090):
            problems.append(f"{name}: {probe} must GET {path} on the management port")
    env = {}
    for ref in server.get("envFrom", []):
        env.update(configmaps.get((ref.get("configMapRef") or {}).get("name"), {}))
    drain = seconds(env.get("INCTRL_DRAIN_TIMEOUT", "0s"))
    sleep = ((server.get("lifecycle") or {}).get("preStop") or {}).get("sleep", {}).get("seconds", 0)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace < sleep + drain + 5:
        problems.append(f"{name}: grace period {grace}s < preStop {sleep}s + drain {drain}s + 5s")
    return f"grace {grace}s >= preStop {sleep}s + drain {drain}s + 5s"


def check_model_repository(dep, configmaps, netpols, problems):
    """The model repository reaches the server: a mounted directory, or S3 with a cache, a Secret and egress."""
    name = dep["metadata"]["name"]
    pod = dep["spec"]["template"]["spec"]
    server = next(c for c in pod["containers"] if c["name"] == "server")
    env = {}
    for ref in server.get("envFrom", []):
        env.update(configmaps.get((ref.get("configMapRef") or {}).get("name"), {}))
    repo = env.get("INCTRL_MODELS_REPOSITORY")
    if not repo:
        return None
    mounts = {m["mountPath"]: m for m in server.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    if not repo.startswith("s3://"):
        mount = mounts.get(repo)
        if mount is None:
            problems.append(f"{name}: INCTRL_MODELS_REPOSITORY={repo} is not a mounted volume")
            return None
        if mount.get("readOnly") is not True:
            problems.append(f"{name}: the model repository at {repo} must be mounted read-only")
        volume = volumes.get(mount["name"], {})
        if "emptyDir" in volume:
            fillers = [c["name"] for c in pod.get("initContainers", [])
                       if any(m["name"] == mount["name"] for m in c.get("volumeMounts", []))]
            if not fillers:
                problems.append(f"{name}: the model repository is an emptyDir that no init container fills")
            return f"models: {repo} (emptyDir filled by {', '.join(fillers) or 'nothing'})"
        return f"models: {repo} ({'PVC' if 'persistentVolumeClaim' in volume else 'volume'})"
    cache = env.get("INCTRL_MODELS_S3_CACHE_DIR")
    mount = mounts.get(cache)
    if mount is None or mount.get("readOnly"):
        problems.append(f"{name}: the S3 model cache {cache} must be a writable mounted volume")
    container_env = {e["name"]: e for e in server.get("env", [])}
    for key in ("INCTRL_MODELS_S3_ACCESS_KEY", "INCTRL_MODELS_S3_SECRET_KEY"):
        if key in env:
            problems.append(f"{name}: {key} is in a ConfigMap; it must come from a Secret")
        elif key in container_env and "secretKeyRef" not in (container_env[key].get("valueFrom") or {}):
            problems.append(f"{name}: {key} must come from a secretKeyRef")
    endpoint = env.get("INCTRL_MODELS_S3_ENDPOINT")
    url = urlparse(endpoint) if endpoint else None
    port = (url.port or (80 if url.scheme == "http" else 443)) if url else 443
    labels = dep["spec"]["template"]["metadata"]["labels"]
    for np in netpols:
        selector = np["spec"]["podSelector"].get("matchLabels", {})
        if "Egress" not in np["spec"].get("policyTypes", []) or any(labels.get(k) != v for k, v in selector.items()):
            continue
        egress = np["spec"].get("egress", [])
        if not any(int(p.get("port", 0)) == port for rule in egress for p in rule.get("ports", [])):
            problems.append(f"NetworkPolicy {np['metadata']['name']}: no egress to the model storage's port {port}")
    return f"models: {repo} (cache {cache}, egress port {port})"


def adapter_metrics(path):
    with open(path, encoding="utf-8") as f:
        values = yaml.safe_load(f)
    names = set()
    for rule in values["rules"]["custom"]:
        for key in ("seriesQuery", "metricsQuery", "resources", "name"):
            if key not in rule:
                raise ValueError(f"{path}: a custom rule lacks {key}")
        if "<<.LabelMatchers>>" not in rule["metricsQuery"] or "<<.GroupBy>>" not in rule["metricsQuery"]:
            raise ValueError(f"{path}: metricsQuery must use <<.LabelMatchers>> and <<.GroupBy>>")
        names.add(rule["name"]["as"])
    return names


def check_render(path, served, problems):
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    if by_kind.get("Secret"):
        problems.append(f"{path}: renders a Secret; the chart must only reference existing ones")
    configmaps = {c["metadata"]["name"]: c.get("data", {}) for c in by_kind.get("ConfigMap", [])}
    for cm, data in configmaps.items():
        for key in data:
            if SECRET_NAME.search(key):
                problems.append(f"{cm}: ConfigMap key {key} looks like a secret")
    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    notes = []
    for d in by_kind.get("Deployment", []) + by_kind.get("StatefulSet", []):
        check_pod(f"{d['kind']} {d['metadata']['name']}", d["spec"]["template"]["spec"], problems)
    for d in deployments.values():
        notes.append(check_server(d, configmaps, problems))
        models = check_model_repository(d, configmaps, by_kind.get("NetworkPolicy", []), problems)
        if models:
            notes.append(models)
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        target = deployments.get(hpa["spec"]["scaleTargetRef"]["name"])
        if target is None:
            problems.append(f"HPA {hpa['metadata']['name']}: target Deployment not in the render")
        elif "replicas" in target["spec"]:
            problems.append(f"Deployment {target['metadata']['name']}: has replicas although an HPA scales it")
        for m in hpa["spec"]["metrics"]:
            if m["type"] == "Pods" and m["pods"]["metric"]["name"] not in served:
                problems.append(f"HPA metric {m['pods']['metric']['name']} has no Prometheus adapter rule")
        notes.append("HPA on " + ", ".join(m.get("pods", m.get("resource", {})).get("metric", {}).get("name", "cpu")
                                           for m in hpa["spec"]["metrics"]))
    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    for s in services.values():
        public = not s["metadata"]["name"].endswith("-management")
        if public and any(p["port"] == 9090 or p.get("targetPort") == "management" for p in s["spec"]["ports"]):
            problems.append(f"Service {s['metadata']['name']}: exposes the management port")
    for sts in by_kind.get("StatefulSet", []):
        governing = services.get(sts["spec"]["serviceName"])
        if governing is None or governing["spec"].get("clusterIP") != "None":
            problems.append(f"StatefulSet {sts['metadata']['name']}: its serviceName must be a headless Service")
    return len(docs), notes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--adapter", required=True)
    parser.add_argument("renders", nargs="+")
    args = parser.parse_args()
    served = adapter_metrics(args.adapter)
    failed = False
    for path in args.renders:
        problems = []
        count, notes = check_render(path, served, problems)
        status = "ok" if not problems else f"{len(problems)} problem(s)"
        print(f"contract {path}: {count} objects, {status}; " + "; ".join(notes))
        for p in problems:
            print(f"  - {p}")
        failed = failed or bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
