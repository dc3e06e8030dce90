#!/usr/bin/env bash
# A kubectl stand-in for e2e-kind/run.sh's functions, for test/e2e-kind/run-sh.test.ts (no API server here).
# The "cluster" is a folder: FAKE_CLUSTER/<type>/<name>.yaml holds one object, addressed as <type>/<name>.
# JSONPath is evaluated by the real kubectl (REAL_KUBECTL `label --local`, which reads the file and needs
# no server), so run.sh's expressions meet kubectl's own parser. `wait` checks once: the object either
# meets the condition now or the wait fails the way kubectl's does at its timeout. Every call is appended
# to FAKE_CLUSTER/calls.log.
set -uo pipefail
printf '%s\n' "$*" >>"$FAKE_CLUSTER/calls.log"

verb=${1:-}
shift
positional=()
output=''
wait_for=''
while (($#)); do
  case $1 in
  -n | --namespace | -l | --selector | --timeout | --request-timeout) shift 2 ;;
  -o | --output) output=$2; shift 2 ;;
  --for=*) wait_for=${1#--for=}; shift ;;
  -*) shift ;;
  *) positional+=("$1"); shift ;;
  esac
done

evaluate() { # FILE EXPRESSION
  KUBECONFIG=/dev/null "$REAL_KUBECTL" label --local -f "$1" fake-kubectl=1 -o "jsonpath=$2"
}

case $verb in
get)
  target=${positional[0]:-}
  if [[ $target == */* ]]; then
    file="$FAKE_CLUSTER/$target.yaml"
    [[ -f $file ]] || { echo "Error from server (NotFound): $target not found" >&2; exit 1; }
    case $output in
    jsonpath=*) evaluate "$file" "${output#jsonpath=}" ;;
    name) echo "$target" ;;
    *) cat "$file" ;;
    esac
  elif [[ $output == name ]]; then
    for file in "$FAKE_CLUSTER/$target"/*.yaml; do
      if [[ -f $file ]]; then echo "$target/$(basename "$file" .yaml)"; fi
    done
  elif [[ $output == yaml ]]; then
    echo "# fake $target"
  fi
  ;;
wait)
  resource=${positional[0]}
  file="$FAKE_CLUSTER/$resource.yaml"
  case $wait_for in
  jsonpath=*)
    rest=${wait_for#jsonpath=}
    expression=${rest%=*}
    want=${rest##*=}
    got=$(evaluate "$file" "$expression") || exit 1
    ;;
  condition=*)
    rest=${wait_for#condition=}
    type=${rest%%=*}
    want=True
    [[ $rest == *=* ]] && want=${rest#*=}
    got=$(evaluate "$file" "{.status.conditions[?(@.type==\"$type\")].status}") || exit 1
    got=${got,,}
    want=${want,,}
    ;;
  *) echo "fake kubectl: unsupported --for=$wait_for" >&2; exit 2 ;;
  esac
  if [[ $got == "$want" ]]; then
    echo "$resource condition met"
  else
    echo "error: timed out waiting for the condition on $resource" >&2
    exit 1
  fi
  ;;
version) exit "${FAKE_NO_CLUSTER:-0}" ;;
logs) echo "log of ${positional[*]}" ;;
*) ;;
esac
