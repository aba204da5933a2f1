#!/usr/bin/env bash
# Packs MixDQ.Runtime and MixDQ.Sdk into artifacts/packages when their sources changed, then runs the
# TinyShapes sample, which uses the package exactly as a user would.
#   tools/sample.sh ["a large red circle at the top left on a white background"] [out.png]
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

prompt="${1:-a large red circle at the top left on a white background}"
out="${2:-out.png}"
version="$(sed -n 's:.*<MixDQVersion>\(.*\)</MixDQVersion>.*:\1:p' Directory.Build.props)"
feed=artifacts/packages
sdk_pkg="$feed/MixDQ.Sdk.$version.nupkg"
rt_pkg="$feed/MixDQ.Runtime.$version.nupkg"

# Newest source file that ends up in either package.
newest_source() {
  find src/MixDQ.Runtime src/MixDQ.Compiler src/MixDQ.Generators sdk/MixDQ.Sdk Directory.Build.props Directory.Packages.props \
    -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.targets' \) -not -path '*/obj/*' -not -path '*/bin/*' \
    -printf '%T@\n' | sort -n | tail -1
}

if [[ ! -f "$sdk_pkg" || ! -f "$rt_pkg" || "$(newest_source)" > "$(stat -c %Y "$sdk_pkg")" ]]; then
  echo "packing MixDQ.Runtime and MixDQ.Sdk $version into $feed"
  dotnet pack src/MixDQ.Runtime -c Release -o "$feed" --nologo -v:q
  dotnet pack sdk/MixDQ.Sdk -c Release -o "$feed" --nologo -v:q
  # Same version, new bits: drop the copies NuGet cached from an earlier pack, and the sample's restore.
  cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
  rm -rf "$cache/mixdq.sdk/$version" "$cache/mixdq.runtime/$version" samples/TinyShapes/obj
fi

dotnet run --project samples/TinyShapes -c Release -- "$prompt" "$out"
