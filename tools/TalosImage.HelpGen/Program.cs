namespace TalosImage.HelpGen;

/// <summary>
/// talos-helpgen CMDLETS_DLL MARKDOWN_FOLDER OUT_FOLDER: writes OUT_FOLDER/TalosImage.Cmdlets.dll-Help.xml and copies
/// the about_*.help.txt topics. Problems (missing help) are printed as warnings; the exit code stays 0 so that a build
/// goes on, and the module contract checks fail on them instead.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length != 3)
        {
            Console.Error.WriteLine("usage: talos-helpgen CMDLETS_DLL MARKDOWN_FOLDER OUT_FOLDER");
            return 2;
        }
        var (dll, markdown, outFolder) = (args[0], args[1], args[2]);
        using var metadata = new CmdletMetadata(dll);
        var result = HelpGenerator.Generate(metadata.Cmdlets, markdown);
        Directory.CreateDirectory(outFolder);
        result.Maml.Save(Path.Combine(outFolder, Path.GetFileName(dll) + "-Help.xml"));
        foreach (var topic in Directory.GetFiles(markdown, "about_*.help.txt"))
        {
            File.Copy(topic, Path.Combine(outFolder, Path.GetFileName(topic)), overwrite: true);
        }
        foreach (var problem in result.Problems)
        {
            Console.Error.WriteLine("help is incomplete: " + problem);
        }
        return 0;
    }
}
