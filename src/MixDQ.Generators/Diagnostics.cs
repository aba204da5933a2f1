using Microsoft.CodeAnalysis;

namespace MixDQ.Generators
{
    /// <summary>The generator's diagnostics; ids are the product's stable codes (MixDQ.Runtime ErrorCodes).</summary>
    internal static class Diagnostics
    {
        public const string PlanInvalidId = "MIXDQ060";
        public const string PlanVersionId = "MIXDQ061";
        public const string ClassNameId = "MIXDQ064";
        public const string InternalId = "MIXDQ066";
        private const string Category = "MixDQ";

        public static readonly DiagnosticDescriptor PlanInvalid = new(
            PlanInvalidId, "MixDQ plan is invalid", "{0}. Fix: delete the plan and rebuild so that the compiler writes it again.",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor PlanVersion = new(
            PlanVersionId, "MixDQ plan is newer than the generator", "{0}",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor ClassName = new(
            ClassNameId, "MixDQ class name is not valid", "{0}. Fix: set ClassName (and Namespace) of the MixDQModel item to C# identifiers.",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor Internal = new(
            InternalId, "MixDQ generator failed", "The MixDQ generator failed on this plan: {0}. Fix: this is a bug; please report it.",
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

        public static DiagnosticDescriptor ById(string id) => id switch
        {
            PlanVersionId => PlanVersion,
            ClassNameId => ClassName,
            InternalId => Internal,
            _ => PlanInvalid,
        };
    }
}
