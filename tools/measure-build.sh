#!/usr/bin/env bash
# Build time of the TinyShapes sample (MixDQ.Sdk) vs a plain console app referencing MixDQ.Runtime:
# clean build (obj/Release and bin removed; restore done once) and no-op rebuild, three rounds.
# Run tools/sample.sh first so artifacts/packages holds the packed SDK.
set -e
cd "$(dirname "$0")/.."
root="$(pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
plain=/tmp/plainapp; rm -rf $plain; mkdir -p $plain
cat > $plain/Plain.csproj <<'X'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><Nullable>enable</Nullable><ImplicitUsings>enable</ImplicitUsings></PropertyGroup>
  <ItemGroup><PackageReference Include="MixDQ.Runtime" Version="0.1.0" /></ItemGroup>
</Project>
X
echo 'Console.WriteLine(new MixDQ.Runtime.Backends.Cpu.CpuBackend().Name);' > $plain/Program.cs
cp nuget.config $plain/ 2>/dev/null || true
sed -i "s#artifacts/packages#$root/artifacts/packages#" $plain/nuget.config
dotnet restore $plain -v:q >/dev/null; dotnet restore samples/TinyShapes -v:q >/dev/null
for i in 1 2 3; do
  rm -rf samples/TinyShapes/obj/Release samples/TinyShapes/bin $plain/obj/Release $plain/bin
  s=$(date +%s.%N); dotnet build samples/TinyShapes -c Release --no-restore -v:q >/dev/null; e=$(date +%s.%N); a=$(awk "BEGIN{printf \"%.2f\", $e-$s}")
  s=$(date +%s.%N); dotnet build samples/TinyShapes -c Release --no-restore -v:q >/dev/null; e=$(date +%s.%N); b=$(awk "BEGIN{printf \"%.2f\", $e-$s}")
  s=$(date +%s.%N); dotnet build $plain -c Release --no-restore -v:q >/dev/null; e=$(date +%s.%N); c=$(awk "BEGIN{printf \"%.2f\", $e-$s}")
  s=$(date +%s.%N); dotnet build $plain -c Release --no-restore -v:q >/dev/null; e=$(date +%s.%N); d=$(awk "BEGIN{printf \"%.2f\", $e-$s}")
  echo "run $i: sample clean $a s, no-op $b s | plain clean $c s, no-op $d s"
done
