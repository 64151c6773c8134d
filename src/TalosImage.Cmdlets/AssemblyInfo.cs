[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("TalosImage.Tests")]
