#!/usr/bin/env bash
# What a user deploys with instead of chatctl: the AWS CLI driven by a shell
# script, as the original Lambda chat's scripts did. It ships the same
# template, the same zips and the same site as chatctl, with the commands an
# experienced user would pick (`cloudformation deploy`, `s3 sync`,
# `lambda update-function-code`), and nothing slower on purpose.
#
#   cli-deploy.sh deploy                 artifacts, stack, config.json, site, invalidation
#   cli-deploy.sh update-code NAME ZIP   one function's code, then wait for it
#   cli-deploy.sh sync-site              site sync and an invalidation
#   cli-deploy.sh delete                 empty the site bucket, delete the stack and artifacts
#
# Environment: AWS (the aws executable), AWS_ENDPOINT_URL, STACK, TEMPLATE
# (JSON from `chatctl template`), MANIFEST (chatctl's build manifest), SITE
# (the site directory), WORK (a scratch directory).
set -euo pipefail
aws() { "$AWS" --region us-east-1 --output text "$@"; }
artifacts="cli-artifacts-$(echo "$STACK" | tr 'A-Z' 'a-z')"

output() { aws cloudformation describe-stacks --stack-name "$STACK" \
  --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue"; }

sync_site() {
  local bucket distribution
  bucket=$(output SiteBucketName)
  distribution=$(output DistributionId)
  # rooms/ holds the chat's snapshots, written by the fan-out function.
  aws s3 sync "$SITE" "s3://$bucket" --delete --exclude 'rooms/*' --exclude config.json --only-show-errors
  aws cloudfront create-invalidation --distribution-id "$distribution" --paths '/*' >/dev/null
}

case "$1" in
deploy)
  aws s3api head-bucket --bucket "$artifacts" 2>/dev/null || aws s3 mb "s3://$artifacts" >/dev/null
  # One upload per handler and a parameter naming each zip by its hash.
  params=("ArtifactBucket=$artifacts")
  while read -r name logical zip sha; do
    key="handlers/$name/$sha.zip"
    aws s3 cp "$zip" "s3://$artifacts/$key" --only-show-errors
    params+=("${logical}CodeKey=$key")
  done < <(python3 -c '
import json, sys
for name, h in sorted(json.load(open(sys.argv[1]))["handlers"].items()):
    logical = "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
    print(name, logical, h["zip"], h["sha256"])' "$MANIFEST")
  aws cloudformation deploy --template-file "$TEMPLATE" --stack-name "$STACK" \
    --s3-bucket "$artifacts" --s3-prefix templates \
    --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM --no-fail-on-empty-changeset \
    --parameter-overrides "${params[@]}" >/dev/null
  # The site's endpoints, which the original demo pasted into a file by hand.
  aws cloudformation describe-stacks --stack-name "$STACK" --output json >"$WORK/stack.json"
  python3 -c '
import json, sys
outputs = {o["OutputKey"]: o["OutputValue"] for o in json.load(open(sys.argv[1]))["Stacks"][0]["Outputs"]}
json.dump({"websocketUrl": outputs["WebSocketUrl"], "httpApiUrl": outputs["HttpApiUrl"], "apiPath": "/api"},
          open(sys.argv[2], "w"), indent=2)' "$WORK/stack.json" "$WORK/config.json"
  aws s3 cp "$WORK/config.json" "s3://$(output SiteBucketName)/config.json" --only-show-errors
  sync_site
  ;;
update-code)
  function=$(output "$(python3 -c 'import sys; print("".join(p.capitalize() for p in sys.argv[1].split("-")))' "$2")FunctionName")
  aws lambda update-function-code --function-name "$function" --zip-file "fileb://$3" >/dev/null
  aws lambda wait function-updated-v2 --function-name "$function"
  ;;
sync-site)
  sync_site
  ;;
delete)
  bucket=$(output SiteBucketName)
  aws s3 rm "s3://$bucket" --recursive --only-show-errors
  aws cloudformation delete-stack --stack-name "$STACK"
  aws cloudformation wait stack-delete-complete --stack-name "$STACK"
  aws s3 rb "s3://$artifacts" --force >/dev/null
  ;;
*)
  echo "usage: cli-deploy.sh deploy|update-code NAME ZIP|sync-site|delete" >&2
  exit 2
  ;;
esac
