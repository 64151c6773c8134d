namespace System.Runtime.CompilerServices
{
    /// <summary>Lets netstandard2.0 compile <c>init</c> accessors (the type is in-box from .NET 5 on).</summary>
    internal static class IsExternalInit
    {
    }
}
