package io.inctrl.serve.architecture;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import io.inctrl.serve.model.BundleException;
import io.inctrl.serve.model.BundleManifest;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Singleton;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Design rules that keep the fixed defects fixed: every device pass is a batcher job; dependencies point inward. */
class ArchitectureTest {

    private static JavaClasses classes;

    @BeforeAll
    static void importMain() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.inctrl.serve");
    }

    @Test
    void only_the_batcher_the_model_core_and_a_loading_version_touch_an_engine() {
        noClasses()
                .that()
                .resideOutsideOfPackages("..serve.model..", "..serve.inference..")
                .and()
                .doNotHaveFullyQualifiedName("io.inctrl.serve.models.LoadedModel")
                .should()
                .dependOnClassesThat()
                .haveFullyQualifiedName("io.inctrl.serve.model.InctrlEngine")
                .because("a forward pass outside the batcher escapes its queueing, fairness and limits")
                .check(classes);
    }

    @Test
    void device_work_runs_only_in_the_batchers_processor_or_a_versions_warm_up() {
        noClasses()
                .that()
                .doNotHaveFullyQualifiedName("io.inctrl.serve.inference.EngineBatchProcessor")
                .and()
                .doNotHaveFullyQualifiedName("io.inctrl.serve.models.LoadedModel")
                .and()
                .resideOutsideOfPackage("..serve.model..")
                .should()
                .callMethodWhere(com.tngtech.archunit.base.DescribedPredicate.describe(
                        "a forward pass of InctrlEngine",
                        call -> call.getTargetOwner().getFullName().equals("io.inctrl.serve.model.InctrlEngine")
                                && java.util.Set.of("process", "encode", "encodeAndScore", "score", "textPrior")
                                        .contains(call.getName())))
                .because("every device pass is a batcher job of one model version (text priors included)")
                .check(classes);
    }

    @Test
    void packages_form_no_cycles() {
        slices().matching("io.inctrl.serve.(**)").should().beFreeOfCycles().check(classes);
    }

    /**
     * Beans that inject each other (PromptSetService and TemplateService, Authenticator and TenantService once) only
     * start through CDI proxies and hide an unclear split of one concern; every CDI bean is its own slice here.
     */
    @Test
    void application_beans_form_no_cycles() {
        slices().assignedFrom(new SliceAssignment() {
                    @Override
                    public SliceIdentifier getIdentifierOf(JavaClass c) {
                        JavaClass top = c;
                        while (top.getEnclosingClass().isPresent()) {
                            top = top.getEnclosingClass().get();
                        }
                        return top.isAnnotatedWith(ApplicationScoped.class) || top.isAnnotatedWith(Singleton.class)
                                ? SliceIdentifier.of(top.getName())
                                : SliceIdentifier.ignore();
                    }

                    @Override
                    public String getDescription() {
                        return "application-scoped beans";
                    }
                })
                .should()
                .beFreeOfCycles()
                .check(classes);
    }

    @Test
    void the_model_core_and_the_batcher_library_know_no_transport() {
        noClasses()
                .that()
                .resideInAnyPackage("..serve.model..", "..serve.image..", "..serve.text..", "..serve.batching..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("io.grpc..", "jakarta.ws.rs..", "..serve.api..")
                .check(classes);
    }

    @Test
    void the_model_repository_verifies_bundles_and_loads_nothing() {
        noClasses()
                .that()
                .resideInAPackage("..serve.models.repository..")
                .should()
                .dependOnClassesThat(resideInAnyPackage(
                                "ai.djl..", "..serve.inference..", "..serve.api..", "io.grpc..", "jakarta.ws.rs..")
                        .or(resideInAPackage("..serve.model..")
                                .and(not(belongToAnyOf(BundleManifest.class, BundleException.class)))))
                .because("the repository hands out verified directories; loading them is the model manager's job")
                .check(classes);
    }
}
