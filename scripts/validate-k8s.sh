#!/usr/bin/env bash
# Offline validation of the Kubernetes deliverables (k8s/): renders the Helm chart for every profile and checks
#   - helm lint --strict;
#   - kubeconform -strict against the Kubernetes JSON schemas of two versions (shipped by the PyPI package
#     kubernetes-validate; nothing is downloaded at validation time);
#   - kube-score: no CRITICAL finding (exceptions only as kube-score/ignore annotations in the chart);
#   - the deployment contract (k8s/validate/check_renders.py) and the chart's refusal of unsafe values;
#   - promtool check rules + promtool test rules on k8s/monitoring/alert-rules.yaml;
#   - the KServe example k8s/kserve (parsed; its ServingRuntime's containers strictly, as a Pod's).
# Tools are pinned and installed once with `go install` (Go module proxy) and pip into $INCTRL_K8S_TOOLS_DIR
# (default build/tools); reruns reuse them. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

HELM_VERSION=v3.19.0
KUBECONFORM_VERSION=v0.7.0
KUBE_SCORE_VERSION=v1.20.0
PROMETHEUS_VERSION=v0.316.0 # Go module version of Prometheus 3.x, for promtool
KUBERNETES_VALIDATE_VERSION=1.37.0
# The chart's minimum Kubernetes version and the newest one kubernetes-validate ships schemas for.
read -r -a K8S_VERSIONS <<< "${K8S_VERSIONS:-1.30.0 1.37.0}"
# prometheus-operator kinds have no schema in the Kubernetes set: kubeconform skips exactly these.
CRD_KINDS=PodMonitor,ServiceMonitor,PrometheusRule

TOOLS=${INCTRL_K8S_TOOLS_DIR:-$ROOT/build/tools}
mkdir -p "$TOOLS/bin"
TOOLS=$(cd "$TOOLS" && pwd)
export PATH="$TOOLS/bin:$PATH"
CHART=k8s/helm/inctrl-serve
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
start=$SECONDS

# ---- tools ----------------------------------------------------------------------------------------------------
go_tool() { # name module@version [go build flags]: installs unless the stamp says this build is there
    local name=$1 pkg=$2
    shift 2
    local stamp="$pkg $*"
    if [[ -x $TOOLS/bin/$name && "$(cat "$TOOLS/bin/.$name.version" 2>/dev/null)" == "$stamp" ]]; then
        return
    fi
    command -v go > /dev/null || { echo "validate-k8s: Go is needed to install $name" >&2; exit 1; }
    echo "installing $pkg $*"
    GOBIN=$TOOLS/bin GOFLAGS=-buildvcs=false go install -ldflags="-s -w" "$@" "$pkg"
    echo "$stamp" > "$TOOLS/bin/.$name.version"
}
go_tool helm helm.sh/helm/v3/cmd/helm@$HELM_VERSION
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION
go_tool kube-score github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION
# remove_all_sd leaves out the cloud service-discovery plugins (AWS, Azure, GCE, Kubernetes, ...): rule checks
# and rule unit tests need none of them, and the build is several times smaller.
go_tool promtool github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION -tags remove_all_sd

VENV=$TOOLS/venv-k8s
if [[ "$(cat "$VENV/.version" 2>/dev/null)" != "$KUBERNETES_VALIDATE_VERSION" ]]; then
    echo "installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION (schemas)"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
    echo "$KUBERNETES_VALIDATE_VERSION" > "$VENV/.version"
    rm -rf "$TOOLS/k8s-schemas"
fi
# kubernetes-validate's schemas refer to "/api/_definitions.json", which kubeconform would fetch from the web:
# rewrite the refs to the sibling file once, into kubeconform's "<version>-standalone-strict" layout.
SCHEMAS=$TOOLS/k8s-schemas
for v in "${K8S_VERSIONS[@]}"; do
    [[ -f $SCHEMAS/v$v-standalone-strict/.done ]] && continue
    "$VENV/bin/python" - "$VENV" "$v" "$SCHEMAS/v$v-standalone-strict" << 'EOF'
import json, pathlib, sys, kubernetes_validate
src = pathlib.Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{sys.argv[2]}-local-strict"
dst = pathlib.Path(sys.argv[3])
if not src.is_dir():
    sys.exit(f"kubernetes-validate ships no schemas for {sys.argv[2]} (looked in {src})")
def local(node):
    if isinstance(node, dict):
        node.pop("$id", None)  # an id under kubernetes.io would make relative refs resolve on the web
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("/api/_definitions.json"):
            node["$ref"] = ref[len("/api/"):]
        for child in node.values():
            local(child)
    elif isinstance(node, list):
        for child in node:
            local(child)
    return node
dst.mkdir(parents=True, exist_ok=True)
for f in src.glob("*.json"):
    (dst / f.name).write_text(json.dumps(local(json.loads(f.read_text()))))
(dst / ".done").write_text("")
EOF
done
tools_s=$((SECONDS - start))

# ---- renders ----------------------------------------------------------------------------------------------------
declare -A PROFILE_ARGS=(
    [single-node]="-f $CHART/values-single-node.yaml"
    [production]="-f $CHART/values-production.yaml"
    [gpu]="-f $CHART/values-production.yaml -f $CHART/values-gpu.yaml"
    # production with every optional object on (prometheus-operator objects, dashboard, management Service,
    # TLS with client certificates, OIDC sign-in, the KServe example's access to the trial PostgreSQL)
    [production-monitoring]="-f $CHART/values-production.yaml -f $CHART/values-kserve.yaml
        --set metrics.podMonitor.enabled=true
        --set metrics.serviceMonitor.enabled=true --set metrics.prometheusRule.enabled=true
        --set metrics.grafanaDashboard.enabled=true --set logging.json=true
        --set tracing.otlpEndpoint=http://otel-collector.monitoring:4317
        --set tls.enabled=true --set tls.secretName=inctrl-tls --set tls.clientAuth=required
        --set tls.trustStorePasswordSecret.name=inctrl-tls-truststore
        --set oidc.enabled=true --set oidc.authServerUrl=https://idp.example.com/realms/inctrl"
    # the three ways a model repository reaches the pods (k8s/README.md, "Models")
    [models-volume]="-f $CHART/values-single-node.yaml --set model.repository.type=volume
        --set model.repository.volume.existingClaim=inctrl-models"
    [models-image]="-f $CHART/values-production.yaml --set model.repository.type=image
        --set model.repository.image.repository=registry.example.com/inctrl-models
        --set model.repository.image.tag=2026-12-01"
    [models-s3]="-f $CHART/values-production.yaml --set model.repository.type=s3
        --set model.repository.s3.uri=s3://inctrl-models/prod
        --set model.repository.s3.endpoint=http://minio.storage.svc:9000
        --set model.repository.s3.credentialsSecret.name=inctrl-models-s3
        --set model.repository.s3.egressPeers[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=storage"
)
PROFILES=(single-node production gpu production-monitoring models-volume models-image models-s3)
failures=0
declare -A SUMMARY

for p in "${PROFILES[@]}"; do
    # shellcheck disable=SC2086 # PROFILE_ARGS holds several words on purpose
    if ! lint=$(helm lint --strict "$CHART" ${PROFILE_ARGS[$p]} 2>&1); then
        echo "$lint"
        SUMMARY[$p]="helm lint FAILED"
        failures=$((failures + 1))
        continue
    fi
    line="lint ok"
    for v in "${K8S_VERSIONS[@]}"; do
        render=$OUT/$p-$v.yaml
        # shellcheck disable=SC2086
        helm template inctrl-serve "$CHART" --namespace inctrl --kube-version "$v" ${PROFILE_ARGS[$p]} > "$render"
        if kc=$(kubeconform -strict -summary -kubernetes-version "$v" -skip "$CRD_KINDS" \
            -schema-location "$SCHEMAS/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
            "$render" 2>&1); then
            line+=", kubeconform $v: $(grep -o 'Valid: [0-9]*, Invalid: [0-9]*, Errors: [0-9]*, Skipped: [0-9]*' <<< "$kc")"
        else
            echo "$kc"
            line+=", kubeconform $v FAILED"
            failures=$((failures + 1))
        fi
    done
    render=$OUT/$p-${K8S_VERSIONS[0]}.yaml
    kube_minor=v${K8S_VERSIONS[0]%.*}
    ks_rc=0
    ks=$(kube-score score --output-format ci --kubernetes-version "$kube_minor" "$render" 2>&1) || ks_rc=$?
    critical=$(grep -c '^\[CRITICAL\]' <<< "$ks" || true)
    warning=$(grep -c '^\[WARNING\]' <<< "$ks" || true)
    grep -E '^\[(CRITICAL|WARNING)\]' <<< "$ks" || true
    if ((critical == 0 && ks_rc != 0)); then # exit 1 without a CRITICAL line: kube-score itself failed
        echo "$ks"
        line+=", kube-score FAILED (exit $ks_rc)"
        failures=$((failures + 1))
    else
        line+=", kube-score: $critical critical, $warning warning"
        if ((critical > 0)); then failures=$((failures + 1)); fi
    fi
    if ct=$("$VENV/bin/python" k8s/validate/check_renders.py --adapter k8s/monitoring/prometheus-adapter-values.yaml "$render"); then
        line+=", contract ok"
    else
        echo "$ct"
        line+=", contract FAILED"
        failures=$((failures + 1))
    fi
    SUMMARY[$p]=$line
done

# The namespace manifest (Pod Security Admission labels) outside the chart.
for v in "${K8S_VERSIONS[@]}"; do
    kubeconform -strict -kubernetes-version "$v" \
        -schema-location "$SCHEMAS/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
        k8s/namespace.yaml || failures=$((failures + 1))
done

# ---- KServe example (k8s/kserve): its CRD kinds have no schema in the Kubernetes set, so kubeconform only parses
# them; the ServingRuntime's containers are checked strictly as those of a Pod.
kserve="kserve: FAILED"
if "$VENV/bin/python" - k8s/kserve/serving-runtime.yaml > "$OUT/kserve-pod.yaml" << 'EOF'
import sys, yaml
runtime = yaml.safe_load(open(sys.argv[1]))
pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kserve-runtime-check"},
       "spec": {"containers": runtime["spec"]["containers"]}}
yaml.safe_dump(pod, sys.stdout)
EOF
then
    kserve="kserve:"
    for v in "${K8S_VERSIONS[@]}"; do
        if kc=$(kubeconform -strict -summary -ignore-missing-schemas -kubernetes-version "$v" \
            -schema-location "$SCHEMAS/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
            k8s/kserve/*.yaml "$OUT/kserve-pod.yaml" 2>&1); then
            kserve+=" $v $(grep -o 'Valid: [0-9]*, Invalid: [0-9]*, Errors: [0-9]*, Skipped: [0-9]*' <<< "$kc");"
        else
            echo "$kc"
            kserve+=" $v FAILED;"
            failures=$((failures + 1))
        fi
    done
else
    failures=$((failures + 1))
fi

# The KServe example's predictor pods (k8s/kserve) reach the trial PostgreSQL with values-kserve.yaml, and only
# then: the database's NetworkPolicy admits the server pods and, with the overlay, the InferenceServices' pods.
if ! "$VENV/bin/python" - "$OUT/production-${K8S_VERSIONS[0]}.yaml" "$OUT/production-monitoring-${K8S_VERSIONS[0]}.yaml" \
    k8s/kserve/inference-service.yaml << 'EOF'
import sys, yaml
def peers(render):
    for doc in yaml.safe_load_all(open(render)):
        if doc and doc["kind"] == "NetworkPolicy" and doc["metadata"]["name"] == "inctrl-serve-postgresql":
            return [p for rule in doc["spec"]["ingress"] for p in rule["from"]]
    sys.exit(f"{render}: no NetworkPolicy inctrl-serve-postgresql")
def admits(peer_list, labels):  # a same-namespace pod with these labels (podSelector peers only)
    for p in peer_list:
        sel = p.get("podSelector")
        if sel is None or "namespaceSelector" in p:
            continue
        ok = all(labels.get(k) == v for k, v in sel.get("matchLabels", {}).items())
        for e in sel.get("matchExpressions", []):
            ok = ok and e["operator"] == "In" and labels.get(e["key"]) in e["values"]
        if ok:
            return True
    return False
isvcs = [d["metadata"]["name"] for d in yaml.safe_load_all(open(sys.argv[3])) if d]
pods = [{"serving.kserve.io/inferenceservice": n, "component": "predictor"} for n in isvcs]
if any(admits(peers(sys.argv[1]), p) for p in pods):
    sys.exit("the production profile alone admits the KServe pods to PostgreSQL")
missing = [p for p in pods if not admits(peers(sys.argv[2]), p)]
if missing:
    sys.exit(f"values-kserve.yaml does not admit {missing} to PostgreSQL")
print(f"kserve: values-kserve.yaml admits the predictor pods of {', '.join(isvcs)} to the trial PostgreSQL")
EOF
then
    failures=$((failures + 1))
fi

# ---- the chart refuses unsafe values ----------------------------------------------------------------------------
refuse() { # description expected-message helm-args...
    local what=$1 expect=$2
    shift 2
    local msg
    if msg=$(helm template inctrl-serve "$CHART" --kube-version "${K8S_VERSIONS[0]}" "$@" 2>&1); then
        echo "chart accepted $what"
        failures=$((failures + 1))
    elif ! grep -q "$expect" <<< "$msg"; then
        echo "chart refused $what with an unexpected message: $msg"
        failures=$((failures + 1))
    fi
}
refuse "a grace period shorter than preStop + drain" "terminationGracePeriodSeconds" \
    -f $CHART/values-production.yaml --set terminationGracePeriodSeconds=30
refuse "autoscaling on the embedded store" "embedded registry store" \
    -f $CHART/values-single-node.yaml --set autoscaling.enabled=true
refuse "PostgreSQL without a database" "needs database.postgresql.jdbcUrl" \
    -f $CHART/values-production.yaml --set postgresql.deploy=false
refuse "a missing Secret reference" "secrets.existingSecret" \
    -f $CHART/values-production.yaml --set secrets.existingSecret=
refuse "TLS without a certificate Secret" "tls.secretName" \
    -f $CHART/values-production.yaml --set tls.enabled=true
refuse "mTLS without the trust store's password" "trustStorePasswordSecret" \
    -f $CHART/values-production.yaml --set tls.enabled=true --set tls.secretName=inctrl-tls --set tls.clientAuth=required
refuse "OIDC without a provider" "oidc.authServerUrl" \
    -f $CHART/values-production.yaml --set oidc.enabled=true
refuse "an unknown model repository type" "model.repository.type must be" \
    -f $CHART/values-production.yaml --set model.repository.type=nfs
refuse "a repository volume without a claim" "volume.existingClaim" \
    -f $CHART/values-production.yaml --set model.repository.type=volume
refuse "a repository image without an image" "image.repository" \
    -f $CHART/values-production.yaml --set model.repository.type=image
refuse "an S3 repository without an s3:// URI" "s3://bucket/prefix" \
    -f $CHART/values-production.yaml --set model.repository.type=s3 --set model.repository.s3.uri=models
echo "refusals: 11 unsafe value sets checked"

# ---- alert rules ----------------------------------------------------------------------------------------------
if promtool check rules k8s/monitoring/alert-rules.yaml > "$OUT/promtool.log" 2>&1 &&
    promtool test rules k8s/monitoring/alert-rules.test.yaml >> "$OUT/promtool.log" 2>&1; then
    rules="promtool: $(grep -o '[0-9]* rules found' "$OUT/promtool.log"), unit tests passed"
else
    cat "$OUT/promtool.log"
    rules="promtool FAILED"
    failures=$((failures + 1))
fi
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' k8s/monitoring/grafana-dashboard.json ||
    { echo "grafana-dashboard.json is not valid JSON"; failures=$((failures + 1)); }

echo
for p in "${PROFILES[@]}"; do
    echo "profile $p: ${SUMMARY[$p]}"
done
echo "$rules"
echo "$kserve"
echo "validate-k8s: tools ${tools_s}s, total $((SECONDS - start))s, $failures failure(s)"
((failures == 0))
