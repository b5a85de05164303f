#!/usr/bin/env bash
# Puts the two jars Spark needs for s3a:// (hadoop-aws and the AWS SDK bundle) into
# .cache/jars/, for the S3 tests and for running the ETL against S3 on this machine.
#
# Why not spark.jars.packages: that fetches from Maven Central, which is not reachable
# from every build machine (it is not from ours). The same jars ship inside the PyPI
# source archive of sagemaker-pyspark 1.4.5, so they come through the Python package
# index we already use. The archive is only unpacked, never installed. On a machine
# that reaches Maven, docs/scale.md shows the usual spark.jars.packages route instead.
#
# Idempotent: does nothing when both jars are present with the expected checksums.
set -euo pipefail
cd "$(dirname "$0")/.."

JARS_DIR=.cache/jars
SDIST=sagemaker_pyspark-1.4.5.tar.gz
SDIST_SHA256=05ca2d5081d7138ce29a8fb0a9cba077f28c825288ed07aed46a82e63c0bf1fb
declare -A JAR_SHA256=(
  [hadoop-aws-3.3.1.jar]=6be50ad8a8b445d2802381b085b2a3ede5c29d353450a6a21f16b2fefa962b6e
  [aws-java-sdk-bundle-1.11.901.jar]=b87175b32a16544cc1b37cf40390eb375833e62bed67f8ce6cde4b7ad6429ead
)

jar_ok() {
  [ -f "$JARS_DIR/$1" ] && echo "${JAR_SHA256[$1]}  $JARS_DIR/$1" | sha256sum --check --status
}

all_present=true
for jar in "${!JAR_SHA256[@]}"; do
  jar_ok "$jar" || all_present=false
done
if $all_present; then
  exit 0
fi

mkdir -p "$JARS_DIR"
download_dir=$(mktemp -d)
trap 'rm -rf "$download_dir"' EXIT

echo "fetching the s3a jars (hadoop-aws 3.3.1, aws-java-sdk-bundle 1.11.901) from PyPI" >&2
if python3 -m pip --version >/dev/null 2>&1; then
  pip_download=(python3 -m pip download)
else
  # No pip on this Python (uv-made venvs have none): uv runs a throwaway one.
  UV=$(command -v uv || echo .tools/bin/uv)
  pip_download=("$UV" tool run --from pip pip download)
fi
"${pip_download[@]}" --quiet --no-deps --no-binary :all: sagemaker-pyspark==1.4.5 \
  --dest "$download_dir"

echo "$SDIST_SHA256  $download_dir/$SDIST" | sha256sum --check --status \
  || { echo "checksum mismatch for $SDIST: refusing to use it" >&2; exit 1; }

for jar in "${!JAR_SHA256[@]}"; do
  tar --extract --gzip --file "$download_dir/$SDIST" --directory "$download_dir" \
    "sagemaker_pyspark-1.4.5/deps/jars/$jar"
  mv "$download_dir/sagemaker_pyspark-1.4.5/deps/jars/$jar" "$JARS_DIR/$jar.partial"
  mv "$JARS_DIR/$jar.partial" "$JARS_DIR/$jar"
  jar_ok "$jar" || { echo "checksum mismatch for $JARS_DIR/$jar" >&2; exit 1; }
done
echo "s3a jars ready in $JARS_DIR" >&2
